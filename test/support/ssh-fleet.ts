// A fleet of real OpenSSH servers on 127.0.0.2, .3, … for tests that deploy over SSH.
// Needs root (it creates a user and runs sshd) and the Debian package openssh-server.
import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSHD_PATH, sshArgv } from './fleet/commands';
import { FleetError } from './fleet/errors';
import { type FleetHost, startHost } from './fleet/host';
import { generateKeyPair } from './fleet/keys';
import { ensureNodeForUser, type NodeForUser } from './fleet/node';
import { type Daemon, isAlive, killAll, processesUnder } from './fleet/processes';
import { assertUserCanRead, ensureTestUser } from './fleet/user';

export { knownHostsLine, shellQuote, sshArgv, sshdConfig } from './fleet/commands';
export { FleetError } from './fleet/errors';
export type { FleetHost } from './fleet/host';
export { isAlive } from './fleet/processes';

export interface FleetOptions {
  count: number;
  /** Non-root login user, created if missing. Default `ferrytest`. */
  user?: string;
  /** Where the fleet's temp dir is made. Must be traversable by the user. Default os.tmpdir(). */
  baseDir?: string;
  /** Last octet of the first host's address: 2 → 127.0.0.2. Default 2. */
  firstAddress?: number;
  /** Port tried first on each address; a free one is picked where it is taken. Default 2222. */
  port?: number;
}

export interface Fleet {
  hosts: FleetHost[];
  dir: string;
  user: string;
  /** known_hosts with every host, `[addr]:port` form where port ≠ 22. */
  knownHostsPath: string;
  /** The client key every host accepts. */
  privateKeyPath: string;
  publicKey: string;
  /** node as the user sees it over ssh. */
  node: NodeForUser;
  /** An `ssh` argv for a host, trusting only this fleet's known_hosts. */
  sshArgv(host: FleetHost, command?: string): string[];
  /** Kills every sshd (SIGTERM, then SIGKILL), waits for them, removes the dir. Safe to call twice. */
  stop(): Promise<void>;
}

export const DEFAULT_USER = 'ferrytest';

function assertSshd(): void {
  try {
    accessSync(SSHD_PATH, constants.X_OK);
  } catch {
    throw new FleetError(`${SSHD_PATH} is missing`, 'apt-get install -y openssh-server');
  }
}

export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const { count, user: userName = DEFAULT_USER, baseDir = tmpdir(), firstAddress = 2, port = 2222 } = opts;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`count must be a positive integer, got ${count}`);
  }
  if (firstAddress < 1 || firstAddress + count - 1 > 254) {
    throw new RangeError(`127.0.0.${firstAddress}… does not fit ${count} hosts`);
  }
  assertSshd();
  const user = await ensureTestUser(userName);
  // sshd's privilege-separation dir; tmpfs /run starts without it in containers.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const dir = await mkdtemp(join(baseDir, 'ferry-fleet-'));
  // The user's sshd session reads authorized_keys and writes its root under here.
  await chmod(dir, 0o755);
  const daemons: Daemon[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(daemons.map((d) => d.stop()));
    // Services a test started on a "host" and detached from its session.
    await killAll(processesUnder(dir));
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    const client = await generateKeyPair(join(dir, 'id_ed25519'), 'ferry-fleet-client');
    const authorizedKeysFile = join(dir, 'authorized_keys');
    await writeFile(authorizedKeysFile, `${client.publicKey}\n`, { mode: 0o644 });
    await assertUserCanRead(user.name, authorizedKeysFile);
    // allSettled: on a failure, every sshd that did start is in `daemons` before stop() runs.
    const settled = await Promise.allSettled(
      Array.from({ length: count }, async (_, i) => {
        const name = `host${i + 1}`;
        const started = await startHost({
          name,
          address: `127.0.0.${firstAddress + i}`,
          preferredPort: port,
          dir: join(dir, 'hosts', name),
          user,
          client,
          authorizedKeysFile,
        });
        daemons.push(started.daemon);
        return started.host;
      }),
    );
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const hosts = settled.map((r) => (r as PromiseFulfilledResult<FleetHost>).value);
    const knownHostsPath = join(dir, 'known_hosts');
    await writeFile(knownHostsPath, hosts.map((h) => `${h.knownHostsLine}\n`).join(''));
    const argvFor = (h: FleetHost, command?: string) =>
      sshArgv({ ...h, privateKeyPath: client.privateKeyPath, knownHostsPath }, command);
    const first = hosts[0]!;
    const node = await ensureNodeForUser({ ...first, knownHostsPath });
    return {
      hosts,
      dir,
      user: user.name,
      knownHostsPath,
      privateKeyPath: client.privateKeyPath,
      publicKey: client.publicKey,
      node,
      sshArgv: argvFor,
      stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

/** PIDs of the fleet's sshd listeners still alive (empty after stop()). */
export function alivePids(fleet: Fleet): number[] {
  return fleet.hosts.map((h) => h.pid).filter(isAlive);
}
