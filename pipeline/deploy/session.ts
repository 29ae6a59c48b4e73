// Opens a transport to every host of an environment and checks that each runs an agent this CLI can drive.
// SSH credentials come from the environment (FERRY_SSH_KEY / FERRY_SSH_KEY_FILE, else ~/.ssh/id_ed25519),
// host keys from the host's pinned `hostKey` or a known_hosts file — never trust-on-first-use.
import { existsSync, readFileSync } from 'node:fs';
import { homedir, hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { AGENT_PROTOCOL } from '../agent/version';
import type { EnvironmentConfig, HostConfig } from '../config/resolve';
import { ConfigError, FerryError } from '../errors';
import { knownFingerprints } from '../transport/known-hosts';
import { LocalTransport } from '../transport/local';
import { SshTransport } from '../transport/ssh';
import type { Transport } from '../transport/types';
import { runAgent } from './agent-client';
import { mapLimit } from './plan';

export interface HostHandle {
  host: HostConfig;
  t: Transport;
}

type Env = Record<string, string | undefined>;

/** Who is acting, for locks, history and audit: FERRY_WHO, or CI's job, or user@machine. */
export function whoAmI(env: Env): string {
  if (env.FERRY_WHO) return env.FERRY_WHO;
  if (env.CI === 'true' && env.GITHUB_RUN_ID)
    return `ci:${env.GITHUB_REPOSITORY ?? 'job'}#${env.GITHUB_RUN_ID}`;
  return `${safeUser()}@${hostname()}`;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function sshKey(env: Env): string {
  if (env.FERRY_SSH_KEY) return env.FERRY_SSH_KEY;
  const file = env.FERRY_SSH_KEY_FILE ?? join(homedir(), '.ssh', 'id_ed25519');
  if (!existsSync(file)) {
    throw new ConfigError(`no SSH private key: ${file} does not exist`, {
      remedy: 'set FERRY_SSH_KEY_FILE to the deploy key path (or FERRY_SSH_KEY to its PEM text)',
    });
  }
  return readFileSync(file, 'utf8');
}

function hostKeyFor(envCfg: EnvironmentConfig, host: HostConfig, env: Env): string {
  if (host.hostKey) return host.hostKey;
  const file = envCfg.knownHostsFile ?? env.FERRY_KNOWN_HOSTS ?? join(homedir(), '.ssh', 'known_hosts');
  const known = existsSync(file)
    ? knownFingerprints(readFileSync(file, 'utf8'), host.address, host.port)
    : [];
  if (known.length === 0) {
    throw new ConfigError(`${host.name}: no pinned host key for ${host.address}:${host.port}`, {
      remedy: `add hostKey: "SHA256:…" to the host in releases.yaml (ssh-keyscan -p ${host.port} ${host.address} | ssh-keygen -lf -), or add it to ${file}`,
    });
  }
  return known[0] as string;
}

export async function openHosts(envCfg: EnvironmentConfig, env: Env): Promise<HostHandle[]> {
  if (envCfg.transport === 'local') {
    return envCfg.hosts.map((host) => ({ host, t: new LocalTransport(host.name) }));
  }
  if (!envCfg.user) {
    throw new ConfigError(`environment ${envCfg.name}: user is required for the ssh transport`, {
      remedy: `set environments.${envCfg.name}.user to the deploy user`,
    });
  }
  const privateKey = sshKey(env);
  const targets = envCfg.hosts.map((host) => ({ host, hostKey: hostKeyFor(envCfg, host, env) }));
  const opened: HostHandle[] = [];
  try {
    await mapLimit(targets, envCfg.concurrency, async ({ host, hostKey }) => {
      const t = await SshTransport.connect({
        name: host.name,
        address: host.address,
        port: host.port,
        user: envCfg.user as string,
        privateKey,
        hostKeyFingerprint: hostKey,
      });
      opened.push({ host, t });
    });
  } catch (err) {
    await closeHosts(opened);
    throw new FerryError((err as Error).message, {
      remedy: 'check the host is up and its key matches; nothing was changed on any host',
    });
  }
  // Keep the configured order: batches and the canary depend on it.
  return envCfg.hosts.map((h) => opened.find((o) => o.host === h) as HostHandle);
}

export async function closeHosts(hosts: HostHandle[]): Promise<void> {
  await Promise.all(hosts.map((h) => h.t.close().catch(() => {})));
}

/** What `agent version` says of a host: enough to check a release's runtime fits before touching it. */
export interface HostPlatformInfo {
  arch: string;
  glibc: string | null;
  node: string;
  /** The release `current` points to (null: none yet). */
  current: string | null;
  /** Optional abilities the agent lists (`hooks`); empty for agents that predate the list. */
  features: string[];
}

/** Refuses to drive a host whose agent is missing or speaks another protocol; returns each host's platform. */
export async function checkAgents(
  hosts: HostHandle[],
  concurrency: number,
): Promise<Map<string, HostPlatformInfo>> {
  const problems: string[] = [];
  const platforms = new Map<string, HostPlatformInfo>();
  await mapLimit(hosts, concurrency, async ({ host, t }) => {
    const r = await runAgent(t, host.path, 'version', {}, { timeoutMs: 30_000 });
    if (r.ok) {
      platforms.set(host.name, {
        arch: typeof r.arch === 'string' ? r.arch : 'unknown',
        glibc: typeof r.glibc === 'string' ? r.glibc : null,
        node: String(r.node),
        current: typeof r.current === 'string' ? r.current : null,
        features: Array.isArray(r.features) ? r.features.filter((f) => typeof f === 'string') : [],
      });
    }
    if (!r.ok) problems.push(`${host.name}: no working agent (${r.error?.message ?? 'unknown error'})`);
    else if (r.protocol !== AGENT_PROTOCOL) {
      problems.push(
        `${host.name}: agent ${String(r.agentVersion)} speaks protocol ${String(r.protocol)}, this CLI ${AGENT_PROTOCOL}`,
      );
    }
  });
  if (problems.length > 0) {
    throw new FerryError(`cannot drive these hosts:\n  ${problems.join('\n  ')}`, {
      remedy: 'run ferry setup <env> to install this version of the agent',
    });
  }
  return platforms;
}
