// A host's directory on the machine's real disk: its private /etc/systemd/system, /etc/sudoers.d,
// /var/lib/systemd and /var/tmp (bind-mounted inside at every boot, so they survive a poweroff like a
// real host's disk), sshd's config and keys, the deploy root, and the boot scripts.
import { chmod, chown, cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { FleetError } from '../fleet/errors';
import { isAlive } from '../fleet/processes';
import type { TestUser } from '../fleet/user';
import type { PrivateDirs } from './commands';

export const DEFAULT_BASE_DIR = '/var/lib/ferry-test-hosts';

export interface HostLayout {
  dir: string;
  private: PrivateDirs;
  /** The deploy root: owned by the deploy user, the same path inside the host and on the machine. */
  root: string;
  ssh: {
    dir: string;
    config: string;
    hostKey: string;
    authorizedKeys: string;
    clientKey: string;
    knownHosts: string;
  };
  initScript: string;
  enterScript: string;
  /** systemd's own console output (the unshare daemon's stdout and stderr). */
  bootLog: string;
}

export function hostLayout(dir: string, root = join(dir, 'deploy')): HostLayout {
  const ssh = join(dir, 'ssh');
  return {
    dir,
    private: {
      etcSystemd: join(dir, 'etc-systemd-system'),
      sudoersD: join(dir, 'etc-sudoers.d'),
      varLibSystemd: join(dir, 'var-lib-systemd'),
      varTmp: join(dir, 'var-tmp'),
    },
    root,
    ssh: {
      dir: ssh,
      config: join(ssh, 'sshd_config'),
      hostKey: join(ssh, 'ssh_host_ed25519_key'),
      authorizedKeys: join(ssh, 'authorized_keys'),
      clientKey: join(ssh, 'id_ed25519'),
      knownHosts: join(ssh, 'known_hosts'),
    },
    initScript: join(dir, 'init.sh'),
    enterScript: join(dir, 'enter.sh'),
    bootLog: join(dir, 'boot.log'),
  };
}

// Inside the host these are private (tmpfs or per-host binds): a deploy root there would not be the
// directory the test sees on the machine, or would vanish at poweroff.
const PRIVATE_INSIDE = [
  '/tmp',
  '/var/tmp',
  '/run',
  '/dev',
  '/proc',
  '/sys',
  '/etc/systemd',
  '/etc/sudoers.d',
];

/** A path the host must see as the machine does: absolute and not under anything private inside. */
export function checkOnRealDisk(path: string, what: string): string {
  const normal = posix.normalize(path);
  if (!posix.isAbsolute(normal))
    throw new FleetError(`${what} "${path}" is not absolute`, 'pass an absolute path');
  const hidden = [...PRIVATE_INSIDE, '/var/lib/systemd'].find(
    (p) => normal === p || normal.startsWith(`${p}/`),
  );
  if (hidden) {
    throw new FleetError(
      `${what} ${path} is under ${hidden}, which is private inside the host`,
      `pick a directory on the real disk, e.g. under /var/lib or /srv (default ${DEFAULT_BASE_DIR})`,
    );
  }
  return normal;
}

/** Host dirs are named <name>-<owner pid>-<random>: the owner's PID tells a stale one from a live one. */
export function ownerPid(dirName: string): number | undefined {
  const m = /-(\d+)-[A-Za-z0-9]{6}(?:-b\d+)?$/.exec(dirName);
  return m ? Number(m[1]) : undefined;
}

export function ownerAlive(dirName: string): boolean {
  const pid = ownerPid(dirName);
  // A name we cannot read is not ours to delete.
  return pid === undefined || isAlive(pid);
}

/** Host dirs whose owner died without stopping them (a test run killed with SIGKILL). */
export async function removeStaleHostDirs(baseDir: string): Promise<void> {
  const names = await readdir(baseDir).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((n) => !ownerAlive(n))
      .map((n) => rm(join(baseDir, n), { recursive: true, force: true, maxRetries: 3 })),
  );
}

/** Makes the host dir, seeding the private /etc dirs from the machine's. */
export async function createHostDir(opts: {
  baseDir: string;
  name: string;
  user: TestUser;
  root?: string;
}): Promise<HostLayout> {
  checkOnRealDisk(opts.baseDir, 'base dir');
  await mkdir(opts.baseDir, { recursive: true, mode: 0o755 });
  // The deploy user's sshd session reads authorized_keys under here, and its services run in the root.
  await chmod(opts.baseDir, 0o755);
  const dir = await mkdtemp(join(opts.baseDir, `${opts.name}-${process.pid}-`));
  await chmod(dir, 0o755);
  const layout = hostLayout(
    dir,
    opts.root === undefined ? undefined : checkOnRealDisk(opts.root, 'deploy root'),
  );
  const p = layout.private;
  await cp('/etc/systemd/system', p.etcSystemd, { recursive: true, verbatimSymlinks: true });
  await cp('/etc/sudoers.d', p.sudoersD, { recursive: true, verbatimSymlinks: true }).catch(
    async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      await mkdir(p.sudoersD);
    },
  );
  await chmod(p.sudoersD, 0o750);
  await mkdir(p.varLibSystemd, { mode: 0o755 });
  await mkdir(p.varTmp);
  await chmod(p.varTmp, 0o1777);
  await mkdir(layout.ssh.dir, { mode: 0o755 });
  await mkdir(layout.root, { recursive: true, mode: 0o755 });
  await chown(layout.root, opts.user.uid, opts.user.gid);
  return layout;
}

export function cgroupName(layout: HostLayout, bootCount: number): string {
  return `${basename(layout.dir)}-b${bootCount}`;
}
