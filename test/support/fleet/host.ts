import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { knownHostsLine, type SshTarget, sshArgv, sshdArgv, sshdConfig } from './commands';
import { FleetError } from './errors';
import { run } from './exec';
import { generateKeyPair, type KeyPair } from './keys';
import { freePort, pickPort, tcpAccepts } from './ports';
import { type Daemon, spawnDaemon } from './processes';
import type { TestUser } from './user';

/** One sshd host as tests see it. */
export interface FleetHost {
  name: string;
  address: string;
  port: number;
  user: string;
  privateKeyPath: string;
  privateKey: string;
  /** `SHA256:…` exactly as `ssh-keygen -lf` prints it for the host public key. */
  hostKeyFingerprint: string;
  /** `ssh-ed25519 AAAA… comment` */
  hostPublicKey: string;
  /** The deploy root on this host, owned by the user. */
  root: string;
  /** `[127.0.0.2]:2222 ssh-ed25519 AAAA…` */
  knownHostsLine: string;
  /** PID of this host's sshd listener (until stop()). */
  pid: number;
  /** sshd's own stderr, for when a test wants to know why a login failed. */
  logPath: string;
}

export interface HostSpec {
  name: string;
  address: string;
  preferredPort: number;
  dir: string;
  user: TestUser;
  client: KeyPair;
  authorizedKeysFile: string;
}

const READY_TIMEOUT_MS = 15_000;
const BIND_RETRIES = 5;

type Outcome = { kind: 'ready' } | { kind: 'port-taken' } | { kind: 'failed'; detail: string };

async function waitReady(daemon: Daemon, target: SshTarget, logPath: string): Promise<Outcome> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastSsh = '';
  while (Date.now() < deadline) {
    if (daemon.hasExited()) {
      const log = await readFile(logPath, 'utf8').catch(() => '');
      // Another fleet (the other vitest worker) bound the port between our probe and sshd's bind.
      if (/Address already in use|Cannot bind any address/.test(log)) return { kind: 'port-taken' };
      return { kind: 'failed', detail: `sshd exited with ${daemon.exitCode()}: ${log.trim()}` };
    }
    if (await tcpAccepts(target.address, target.port)) {
      // A real login proves it is *our* sshd (host key) and that the user and client key work.
      const r = await run(sshArgv(target, 'true'), { timeoutMs: 10_000 });
      if (r.code === 0) return { kind: 'ready' };
      lastSsh = r.stderr.trim();
      // Our sshd answered and refused the key: waiting longer will not change that.
      if (/Permission denied/.test(lastSsh)) break;
    }
    await sleep(50);
  }
  const log = (await readFile(logPath, 'utf8').catch(() => '')).trim().slice(-2000);
  return {
    kind: 'failed',
    detail: `ssh login failed: ${lastSsh || 'timed out'}; sshd log: ${log || '(empty)'}`,
  };
}

export async function startHost(spec: HostSpec): Promise<{ host: FleetHost; daemon: Daemon }> {
  const { name, address, dir, user, client } = spec;
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const root = join(dir, 'root');
  await mkdir(root, { mode: 0o755 });
  await chown(root, user.uid, user.gid);
  const hostKey = await generateKeyPair(join(dir, 'ssh_host_ed25519_key'), `ferry-fleet-${name}`);
  const configPath = join(dir, 'sshd_config');
  const logPath = join(dir, 'sshd.log');
  const knownHostsPath = join(dir, 'known_hosts');

  let port = await pickPort(address, spec.preferredPort);
  for (let attempt = 0; ; attempt++) {
    const config = sshdConfig({
      address,
      port,
      hostKeyPath: hostKey.privateKeyPath,
      pidFile: join(dir, 'sshd.pid'),
      authorizedKeysFile: spec.authorizedKeysFile,
      user: user.name,
    });
    const line = knownHostsLine(address, port, hostKey.publicKey);
    await Promise.all([
      writeFile(configPath, config),
      writeFile(knownHostsPath, `${line}\n`),
      writeFile(logPath, ''),
    ]);
    const daemon = await spawnDaemon(sshdArgv(configPath), logPath);
    const target = { address, port, user: user.name, privateKeyPath: client.privateKeyPath, knownHostsPath };
    const outcome = await waitReady(daemon, target, logPath);
    if (outcome.kind === 'ready') {
      return {
        daemon,
        host: {
          name,
          address,
          port,
          user: user.name,
          privateKeyPath: client.privateKeyPath,
          privateKey: client.privateKey,
          hostKeyFingerprint: hostKey.fingerprint,
          hostPublicKey: hostKey.publicKey,
          root,
          knownHostsLine: line,
          pid: daemon.pid,
          logPath,
        },
      };
    }
    await daemon.stop();
    if (outcome.kind === 'port-taken' && attempt < BIND_RETRIES) {
      port = await freePort(address);
      continue;
    }
    const detail = outcome.kind === 'failed' ? outcome.detail : 'the port was taken on every try';
    throw new FleetError(
      `sshd for ${name} on ${address}:${port} did not come up: ${detail}`,
      `see ${logPath}`,
    );
  }
}
