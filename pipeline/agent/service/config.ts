// .ferry/service.json: how this host runs the service. Written by `ferry setup` (pipeline/commands builds
// it), read by every agent command and by the supervisor on start and on each reload. Secrets do not
// belong here: they live in shared/.env, which the supervisor reads and never prints.
import { readFile } from 'node:fs/promises';
import { AgentError } from '../errors';
import { isErrno } from '../host/fsutil';

export interface ServiceConfig {
  /** Must equal the release manifest's `name`: a host refuses another app's release. */
  app: string;
  port: number;
  host: string;
  workers: number;
  healthPath: string;
  /**
   * Must answer {"version": V} with the release's version; null: the gate takes a 2xx on healthPath
   * alone (an app with no version endpoint). The supervisor probes each new worker on its own private
   * port, so a 2xx there still proves the new release serves; only the public probe after a reload
   * cannot tell old workers from new ones, and the supervisor's own report of the generation covers that.
   */
  versionPath: string | null;
  healthTimeoutSec: number;
  mode: 'process' | 'systemd';
  unitName: string;
  /** Non-secret environment for the app; shared/.env overrides it. */
  env: Record<string, string>;
  /** The node binary systemd runs (process mode uses the agent's own). */
  nodePath: string;
  /** For people reading the file: the Node version setup installed for the agent ("24.22.3 x64", "host"). */
  agentRuntime?: string;
  keepReleases: number;
  lockTtlSec: number;
  /** How long new workers get to listen before a reload is declared failed. */
  startTimeoutSec: number;
  /** How long a retired worker may finish in-flight requests before SIGKILL. */
  drainTimeoutSec: number;
  /**
   * How long the generation a deploy replaced stays up out of rotation, so a rollback to it needs no app
   * start (0: retire it at once, as before).
   */
  standbySec: number;
  /** Hard cap on the unpacked size of one release (a decompression bomb stops here). */
  maxUnpackedBytes: number;
  /** Process mode: service.log is rotated when it would grow past this (journald bounds itself). */
  logMaxBytes: number;
  /** Process mode: rotated files kept (service.log.1 …), besides service.log. */
  logFiles: number;
}

export const SERVICE_DEFAULTS: Omit<ServiceConfig, 'app' | 'port'> = {
  host: '127.0.0.1',
  workers: 2,
  healthPath: '/healthz',
  versionPath: '/version',
  healthTimeoutSec: 30,
  mode: 'process',
  unitName: '',
  env: {},
  nodePath: '/usr/bin/node',
  keepReleases: 5,
  lockTtlSec: 900,
  startTimeoutSec: 30,
  drainTimeoutSec: 10,
  standbySec: 900,
  maxUnpackedBytes: 1024 * 1024 * 1024,
  logMaxBytes: 10 * 1024 * 1024,
  logFiles: 5,
};

/** Fills defaults and checks every field; problems name the key, e.g. `port: must be an integer 1-65535`. */
export function parseServiceConfig(input: unknown): { config?: ServiceConfig; problems: string[] } {
  const problems: string[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { problems: ['service.json: must be a JSON object'] };
  }
  const raw = input as Record<string, unknown>;
  const c = { ...SERVICE_DEFAULTS, ...raw } as Record<string, unknown>;
  const int = (key: string, min: number, max: number) => {
    const v = c[key];
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
      problems.push(`${key}: must be an integer ${min}-${max}`);
    }
  };
  const str = (key: string, re?: RegExp, hint = 'a non-empty string') => {
    const v = c[key];
    if (typeof v !== 'string' || v.length === 0 || (re && !re.test(v)))
      problems.push(`${key}: must be ${hint}`);
  };
  str('app', /^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'the app name (letters, digits, . _ -)');
  int('port', 1, 65535);
  str('host');
  int('workers', 1, 64);
  str('healthPath', /^\//, 'a path starting with /');
  if (c.versionPath !== null) str('versionPath', /^\//, 'a path starting with / (or null: no version check)');
  int('healthTimeoutSec', 1, 3600);
  if (c.mode !== 'process' && c.mode !== 'systemd') problems.push('mode: must be "process" or "systemd"');
  if (c.mode === 'systemd') str('unitName', /^[A-Za-z0-9@._-]+$/, 'a systemd unit name in systemd mode');
  str('nodePath', /^\//, 'an absolute path');
  int('keepReleases', 1, 1000);
  int('lockTtlSec', 10, 7 * 24 * 3600);
  int('startTimeoutSec', 1, 3600);
  int('drainTimeoutSec', 0, 3600);
  int('standbySec', 0, 7 * 24 * 3600);
  int('maxUnpackedBytes', 1024, Number.MAX_SAFE_INTEGER);
  int('logMaxBytes', 4096, 1024 * 1024 * 1024);
  int('logFiles', 1, 100);
  const env = c.env;
  if (typeof env !== 'object' || env === null || Array.isArray(env)) problems.push('env: must be an object');
  else {
    for (const [k, v] of Object.entries(env)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) problems.push(`env.${k}: not a valid variable name`);
      if (typeof v !== 'string') problems.push(`env.${k}: must be a string`);
    }
  }
  return problems.length > 0 ? { problems } : { config: c as unknown as ServiceConfig, problems };
}

export async function loadServiceConfig(path: string): Promise<ServiceConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      throw new AgentError('config', `${path} is missing: this host was not set up`, {
        remedy: 'run `ferry setup` for this environment',
      });
    }
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new AgentError('config', `${path} is not valid JSON`, {
      remedy: 'rerun `ferry setup` to rewrite it',
    });
  }
  const { config, problems } = parseServiceConfig(data);
  if (!config) {
    throw new AgentError('config', `${path} is invalid:\n  ${problems.join('\n  ')}`, {
      remedy: 'fix the environment in releases.yaml and rerun `ferry setup`',
    });
  }
  return config;
}

/** The address to probe: a wildcard bind is reached over loopback. */
export function probeHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}
