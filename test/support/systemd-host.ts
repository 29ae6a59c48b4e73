// A real systemd host on this machine, for end-to-end tests of Ferry's systemd mode over SSH: systemd is
// PID 1 of its own PID, mount, cgroup, UTS and IPC namespaces (the network is the machine's), with a
// private /tmp, /run and /dev, the machine's services masked, node hidden, and sshd as the deploy user's
// way in. /etc/systemd/system, /etc/sudoers.d, /var/lib/systemd, /var/tmp and the deploy root are per-host
// directories on real disk, so a poweroff and a boot keep them, as on a real host.
// Needs root, systemd, util-linux (unshare, nsenter, setpriv), openssh-server and sudo.
import { rm, writeFile } from 'node:fs/promises';
import { knownHostsLine, sshArgv } from './fleet/commands';
import { FleetError } from './fleet/errors';
import { type RunResult, run } from './fleet/exec';
import { generateKeyPair, type KeyPair } from './fleet/keys';
import { freePort, pickPort, tcpAccepts } from './fleet/ports';
import { isAlive } from './fleet/processes';
import { assertUserCanRead, ensureTestUser, type TestUser } from './fleet/user';
import { processesInCgroups } from './systemd-host/cgroups';
import { SSHD_UNIT } from './systemd-host/commands';
import { createHostDir, DEFAULT_BASE_DIR, type HostLayout, removeStaleHostDirs } from './systemd-host/layout';
import {
  type Boot,
  nsenter,
  powerOff,
  processesInNamespace,
  removeStaleCgroups,
  type SystemState,
  startBoot,
  waitForSystem,
} from './systemd-host/machine';
import { waitForLogin, writeSshd } from './systemd-host/sshd';
import { installSudoers } from './systemd-host/sudoers';
import { assertTools } from './systemd-host/tools';
import { failedUnits, runningUnexpected } from './systemd-host/units';

export { SSHD_UNIT } from './systemd-host/commands';
export { DEFAULT_BASE_DIR } from './systemd-host/layout';
export { processesInNamespace } from './systemd-host/machine';
export { SYSTEMD_HOST_TOOLS } from './systemd-host/tools';

export const DEFAULT_DEPLOY_USER = 'ferrydeploy';

export interface SystemdHostOptions {
  /** Label, part of the host dir's name. Default `sdhost`. */
  name?: string;
  /** Loopback address sshd listens on. Default 127.0.0.40 (the SSH fleet uses .2 up). */
  address?: string;
  /** Port tried first; a free one is picked where it is taken. Default 2222. */
  port?: number;
  /** Non-root deploy user, created if missing. Default `ferrydeploy`. */
  user?: string;
  /** Where host dirs are made: real disk, not /tmp or /var/tmp. Default /var/lib/ferry-test-hosts. */
  baseDir?: string;
  /** The deploy root; default `<host dir>/deploy`. Must be on real disk; made and chowned to the user. */
  root?: string;
  /** sudoers text installed as /etc/sudoers.d/ferry inside the host before the first boot (visudo-checked). */
  sudoers?: string;
  /** How long a boot may take to reach running/degraded and accept SSH. Default 60 s. */
  bootTimeoutMs?: number;
}

/** What Ferry's releases.yaml and an ssh client need to reach the host as the deploy user. */
export interface SystemdHostTarget {
  name: string;
  address: string;
  port: number;
  user: string;
  /** `SHA256:…`, as `ssh-keygen -lf` prints it: releases.yaml's `hosts[].hostKey`. */
  hostKeyFingerprint: string;
  hostPublicKey: string;
  /** `[127.0.0.40]:2222 ssh-ed25519 AAAA…` */
  knownHostsLine: string;
  knownHostsPath: string;
  privateKeyPath: string;
  privateKey: string;
  /** The deploy root: releases.yaml's `path`. The same path inside the host and on the machine. */
  root: string;
}

export interface BootReport {
  state: SystemState;
  /** `systemctl --failed` when degraded. */
  failedUnits: string[];
  /** systemd's PID on the machine. */
  pid: number;
}

export class SystemdHost {
  private current: Boot | undefined;
  private boots = 0;
  private report: BootReport | undefined;
  private stopped = false;

  private constructor(
    readonly name: string,
    readonly layout: HostLayout,
    readonly user: TestUser,
    private readonly client: KeyPair,
    private readonly hostKey: KeyPair,
    private addr: { address: string; port: number },
    private readonly bootTimeoutMs: number,
  ) {}

  /** Creates the host's user, directories and keys, then boots it. */
  static async boot(opts: SystemdHostOptions = {}): Promise<SystemdHost> {
    assertTools();
    const name = opts.name ?? 'sdhost';
    const address = opts.address ?? '127.0.0.40';
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) {
      throw new FleetError(`address ${address} is not a loopback address`, 'use one in 127.0.0.0/8');
    }
    const user = await ensureTestUser(opts.user ?? DEFAULT_DEPLOY_USER);
    const baseDir = opts.baseDir ?? DEFAULT_BASE_DIR;
    await removeStaleHosts(baseDir);
    const layout = await createHostDir({ baseDir, name, user, root: opts.root });
    let host: SystemdHost | undefined;
    try {
      const [client, hostKey] = await Promise.all([
        generateKeyPair(layout.ssh.clientKey, 'ferry-systemd-host-client'),
        generateKeyPair(layout.ssh.hostKey, `ferry-systemd-host-${name}`),
      ]);
      await writeFile(layout.ssh.authorizedKeys, `${client.publicKey}\n`, { mode: 0o644 });
      await assertUserCanRead(user.name, layout.ssh.authorizedKeys);
      const port = await pickPort(address, opts.port ?? 2222);
      host = new SystemdHost(
        name,
        layout,
        user,
        client,
        hostKey,
        { address, port },
        opts.bootTimeoutMs ?? 60_000,
      );
      await host.writeSshd();
      if (opts.sudoers !== undefined) await host.installSudoers(opts.sudoers);
      await host.boot();
      return host;
    } catch (err) {
      if (host) await host.stop().catch(() => {});
      else await rm(layout.dir, { recursive: true, force: true, maxRetries: 3 });
      throw err;
    }
  }

  get target(): SystemdHostTarget {
    return {
      name: this.name,
      address: this.addr.address,
      port: this.addr.port,
      user: this.user.name,
      hostKeyFingerprint: this.hostKey.fingerprint,
      hostPublicKey: this.hostKey.publicKey,
      knownHostsLine: knownHostsLine(this.addr.address, this.addr.port, this.hostKey.publicKey),
      knownHostsPath: this.layout.ssh.knownHosts,
      privateKeyPath: this.client.privateKeyPath,
      privateKey: this.client.privateKey,
      root: this.layout.root,
    };
  }

  get root(): string {
    return this.layout.root;
  }

  /** systemd's PID on the machine while the host is up. */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  /** `pid:[inode]` of the current boot's PID namespace: every process of the host shows it. */
  get pidNamespace(): string | undefined {
    return this.current?.pidNamespace;
  }

  /** The current boot's cgroups on the machine, one per hierarchy; removed at poweroff. */
  get cgroupDirs(): readonly string[] {
    return this.current?.cgroupDirs ?? [];
  }

  /** What the last boot() reported (the first one ran inside bootSystemdHost). */
  get lastBoot(): BootReport | undefined {
    return this.report;
  }

  get booted(): boolean {
    return this.current !== undefined && !this.current.daemon.hasExited();
  }

  /** Boots the host (again, after poweroff()): enabled units come back, the private dirs are kept. */
  async boot(): Promise<BootReport> {
    if (this.stopped) throw new Error(`host ${this.name} was stopped`);
    if (this.current) throw new Error(`host ${this.name} is already booted (pid ${this.current.pid})`);
    this.boots += 1;
    const boot = await startBoot(this.layout, this.boots);
    this.current = boot;
    try {
      const state = await waitForSystem(boot, this.layout, this.bootTimeoutMs);
      await this.waitForSsh();
      const unexpected = await runningUnexpected((...a) => this.systemctl(...a));
      if (unexpected.length > 0) {
        throw new FleetError(
          `host ${this.name} started units that may touch the machine: ${unexpected.join(', ')}`,
          'mask them: add them to STATIC_MASKS in test/support/systemd-host/units.ts',
        );
      }
      const failed = state === 'degraded' ? await failedUnits((...a) => this.systemctl(...a)) : [];
      if (failed.length > 0) {
        console.warn(`systemd host ${this.name} is degraded; failed units: ${failed.join(', ')}`);
      }
      this.report = { state, failedUnits: failed, pid: boot.pid };
      return this.report;
    } catch (err) {
      await this.poweroff().catch(() => {});
      throw err;
    }
  }

  /** `systemctl poweroff` inside, then waits until every process of the host is gone. */
  async poweroff(): Promise<void> {
    const boot = this.current;
    if (!boot) return;
    this.current = undefined;
    await powerOff(boot);
  }

  async reboot(): Promise<BootReport> {
    await this.poweroff();
    return this.boot();
  }

  /** Powers off (SIGKILL if it must) and removes the host dir. Safe to call twice, and after a failed test. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.poweroff();
    } finally {
      await rm(this.layout.dir, { recursive: true, force: true, maxRetries: 3 });
    }
  }

  /** Runs argv as root inside the host (nsenter). Never throws on a non-zero exit. */
  exec(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    if (!this.current) throw new Error(`host ${this.name} is not booted`);
    return nsenter(this.current, argv, opts);
  }

  async execOk(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.exec(argv, opts);
    if (r.code !== 0) {
      throw new Error(
        `${argv.join(' ')} on ${this.name} exited with ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`,
      );
    }
    return r.stdout;
  }

  systemctl(...args: string[]): Promise<RunResult> {
    return this.exec(['systemctl', '--no-pager', ...args]);
  }

  journalctl(...args: string[]): Promise<RunResult> {
    return this.exec(['journalctl', '--no-pager', ...args]);
  }

  /** An OpenSSH client argv that logs in as the deploy user, trusting only this host's key. */
  sshArgv(command?: string): string[] {
    const t = this.target;
    return sshArgv(t, command);
  }

  /** Runs a shell command over SSH as the deploy user. */
  ssh(command: string, opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return run(this.sshArgv(command), opts);
  }

  /**
   * Installs sudoers text as /etc/sudoers.d/<name> inside the host (it survives reboots), after `visudo -c`
   * accepted it. Invalid text is refused with visudo's message, and nothing is installed.
   */
  installSudoers(text: string, name = 'ferry'): Promise<void> {
    return installSudoers(
      this.layout,
      text,
      name,
      this.current ? () => this.exec(['visudo', '-c']) : undefined,
    );
  }

  /** PIDs on the machine of every process of this host (empty while powered off). */
  processes(): number[] {
    if (!this.current) return [];
    const inNs = processesInNamespace(this.current.pidNamespace);
    return [...new Set([...inNs, ...processesInCgroups(this.current.cgroupDirs)])].filter(isAlive);
  }

  private writeSshd(): Promise<void> {
    return writeSshd(this.layout, {
      ...this.addr,
      user: this.user.name,
      hostPublicKey: this.hostKey.publicKey,
    });
  }

  private waitForSsh(): Promise<void> {
    const firstBoot = this.boots === 1;
    return waitForLogin(
      {
        describe: () => `${this.user.name}@${this.addr.address}:${this.addr.port} (${this.name})`,
        login: () => this.ssh('true', { timeoutMs: 10_000 }),
        listening: () => tcpAccepts(this.addr.address, this.addr.port),
        journal: async () => (await this.journalctl('-u', SSHD_UNIT, '-o', 'cat')).stdout,
        // After the first boot the caller's config names the port: it must not move.
        movePort: firstBoot
          ? async () => {
              this.addr = { ...this.addr, port: await freePort(this.addr.address) };
              await this.writeSshd();
              await this.execOk(['systemctl', 'daemon-reload']);
              await this.execOk(['systemctl', 'reset-failed', SSHD_UNIT]);
              await this.execOk(['systemctl', 'restart', SSHD_UNIT]);
            }
          : undefined,
      },
      this.bootTimeoutMs,
    );
  }
}

export function bootSystemdHost(opts: SystemdHostOptions = {}): Promise<SystemdHost> {
  return SystemdHost.boot(opts);
}

/**
 * Removes what hosts of a dead owner left (their dirs and empty cgroups; their processes died with the
 * owner's watchdog). Each boot does this; it is exported for tests and scripts.
 */
export async function removeStaleHosts(baseDir = DEFAULT_BASE_DIR): Promise<void> {
  await removeStaleHostDirs(baseDir);
  await removeStaleCgroups();
}
