// .ferry/pull.json: what `agent sync` needs to pull on its own. Written by `ferry setup <env> --pull`
// (pipeline/commands/pull-config.ts builds it with the validator below). It names the registry as the host
// reaches it (OSS's internal endpoint), this host's environment and name, and where credentials come from:
// the instance's RAM role through the metadata service (no keys on disk), or static keys (tests, hosts
// outside ECS; the file is then 0600). .ferry/channel.json remembers the highest channel accepted.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError } from '../errors';
import { isErrno } from '../host/fsutil';
import type { HostPaths } from '../host/paths';

export type PullRegistryConfig =
  | { type: 'oss'; endpoint: string; bucket: string; cname: boolean; prefix: string }
  | { type: 'local'; path: string; prefix: string };

export type PullCredentialsConfig =
  | { type: 'none' }
  | { type: 'ecs-ram-role'; role: string; metadataEndpoint: string }
  | { type: 'static'; accessKeyId: string; accessKeySecret: string };

export interface HostPullConfig {
  schema: 1;
  app: string;
  env: string;
  /** This host's name in releases.yaml: names its status object in the registry. */
  host: string;
  registry: PullRegistryConfig;
  credentials: PullCredentialsConfig;
  /** Lifetime of the URLs the agent presigns for itself (default 900 s). */
  urlTtlSec: number;
  /** Overrides service.json's healthTimeoutSec / keepReleases for synced deploys. */
  healthTimeoutSec?: number;
  keep?: number;
}

export function pullPaths(paths: HostPaths) {
  return { config: join(paths.ferry, 'pull.json'), channel: join(paths.ferry, 'channel.json') };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const URL_RE = /^https?:\/\/[^\s/]+\/?$/;

/** Checks every field; problems name the key, like service.json's validator. */
export function parsePullConfig(input: unknown): { config?: HostPullConfig; problems: string[] } {
  const problems: string[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { problems: ['pull.json: must be a JSON object'] };
  }
  const c = input as Record<string, unknown>;
  const str = (v: unknown, key: string, re?: RegExp) => {
    if (typeof v !== 'string' || v === '' || (re && !re.test(v)))
      problems.push(`${key}: is missing or invalid`);
  };
  if (c.schema !== 1) problems.push('schema: must be 1');
  str(c.app, 'app', NAME);
  str(c.env, 'env', NAME);
  str(c.host, 'host', NAME);
  const r = (c.registry ?? {}) as Record<string, unknown>;
  if (r.type === 'oss') {
    str(r.endpoint, 'registry.endpoint', URL_RE);
    str(r.bucket, 'registry.bucket', /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
    if (typeof r.cname !== 'boolean') problems.push('registry.cname: must be true or false');
  } else if (r.type === 'local') {
    str(r.path, 'registry.path', /^\//);
  } else problems.push('registry.type: must be "oss" or "local"');
  if (typeof r.prefix !== 'string' || !/^[A-Za-z0-9._/-]*$/.test(r.prefix)) {
    problems.push('registry.prefix: must be a key prefix');
  }
  const k = (c.credentials ?? {}) as Record<string, unknown>;
  if (k.type === 'ecs-ram-role') {
    str(k.role, 'credentials.role', /^[A-Za-z0-9._-]{1,64}$/);
    str(k.metadataEndpoint, 'credentials.metadataEndpoint', URL_RE);
  } else if (k.type === 'static') {
    str(k.accessKeyId, 'credentials.accessKeyId');
    str(k.accessKeySecret, 'credentials.accessKeySecret');
  } else if (k.type !== 'none') {
    problems.push('credentials.type: must be "ecs-ram-role", "static" or "none"');
  }
  if (r.type === 'oss' && k.type === 'none') problems.push('credentials: an OSS registry needs credentials');
  const int = (key: string, min: number, max: number, required = false) => {
    const v = c[key];
    if (v === undefined && !required) return;
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
      problems.push(`${key}: must be an integer ${min}-${max}`);
    }
  };
  int('urlTtlSec', 60, 43200, true);
  int('healthTimeoutSec', 1, 3600);
  int('keep', 1, 1000);
  return problems.length > 0 ? { problems } : { config: c as unknown as HostPullConfig, problems };
}

export async function loadPullConfig(paths: HostPaths): Promise<HostPullConfig> {
  const file = pullPaths(paths).config;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      throw new AgentError('config', `${file} is missing: this host was not set up for pull mode`, {
        remedy: 'run `ferry setup <env> --pull`',
      });
    }
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new AgentError('config', `${file} is not valid JSON`, {
      remedy: 'rerun `ferry setup <env> --pull`',
    });
  }
  const { config, problems } = parsePullConfig(data);
  if (!config) {
    throw new AgentError('config', `${file} is invalid:\n  ${problems.join('\n  ')}`, {
      remedy: 'fix environments.<env>.pull in releases.yaml and rerun `ferry setup <env> --pull`',
    });
  }
  return config;
}
