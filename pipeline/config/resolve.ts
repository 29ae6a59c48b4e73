// The resolved config every command works with: defaults filled in, paths made absolute (relative paths
// in releases.yaml are relative to the file itself, so the CLI behaves the same from any directory).
import { isAbsolute, resolve } from 'node:path';
import { parseRuntimeFrom, type RuntimeConfig } from '../runtime/spec';
import type { EnvironmentFile, ReleasesFile } from './schema';
import { DEFAULT_HOOK_TIMEOUT_SECONDS, type HooksFile } from './schema-hooks';
import {
  ENV_REF,
  NOTIFY_EVENTS,
  type NotificationFile,
  type NotifyEventName,
  type NotifyType,
} from './schema-notifications';

export type BatchSpec = number | `${number}%`;

export interface AppConfig {
  name: string;
  /** As written, relative to the config file. */
  entry: string;
  /** Absolute path of the entry. */
  entryPath: string;
  port: number;
  node: string;
  env: Record<string, string>;
  /** The Node runtime shipped with each release; absent: hosts run releases on their own Node. */
  runtime?: RuntimeConfig;
}

export interface LocalRegistryConfig {
  type: 'local';
  /** Absolute folder. */
  path: string;
  prefix: string;
}

export interface OssRegistryConfig {
  type: 'oss';
  bucket: string;
  region: string;
  prefix: string;
  /** Where CI uploads (public). */
  endpoint: string;
  /** Where hosts download (presigned URLs point here). */
  internalEndpoint: string;
  cname: boolean;
}

export type RegistryConfig = LocalRegistryConfig | OssRegistryConfig;

export interface HostConfig {
  /** Unique within the environment; defaults to the address. */
  name: string;
  /** SSH address; "127.0.0.1" for local hosts. */
  address: string;
  /** SSH port. */
  port: number;
  /** Port the app listens on there. */
  appPort: number;
  /** Deploy root on that host: the environment path (ssh) or <path>/<name> on this machine (local). */
  path: string;
  /** Pinned SSH host key fingerprint ("SHA256:…"), if configured. */
  hostKey?: string;
}

export interface EnvironmentConfig {
  name: string;
  transport: 'ssh' | 'local';
  hosts: HostConfig[];
  user: string | undefined;
  /** known_hosts file (absolute) for hosts without a pinned hostKey; undefined means the default. */
  knownHostsFile?: string;
  /** Deploy root: absolute remote path (ssh) or absolute local folder holding one folder per host. */
  path: string;
  keep: number;
  batch: BatchSpec;
  concurrency: number;
  /** versionPath null: the app has no version endpoint (`versionPath: false`). */
  health: { path: string; versionPath: string | null; timeoutSeconds: number; intervalMs: number };
  /** Seconds each batch is watched after its gate before the next batch starts (0: no bake). */
  bakeSeconds: number;
  /** bind: the address the app listens on (HOST). */
  service: {
    mode: 'systemd' | 'process';
    workers: number;
    unitName: string;
    bind: string;
    /** Seconds the replaced generation stays warm for a rollback (0: off). */
    standbySeconds: number;
    /** Process-mode log rotation, when set (service.json's defaults otherwise: 10 MiB, 5 files). */
    logFileMiB?: number;
    logFiles?: number;
  };
  lockTtlSeconds: number;
  /** Set when the environment runs in pull mode (environments.<e>.pull): see docs/pull.md. */
  pull?: PullConfig;
  /** Lifetime of the presigned URLs each batch gets. */
  urlTtlSeconds: number;
}

export interface PullConfig {
  intervalSeconds: number;
  jitterSeconds: number;
  channelTtlSeconds: number;
  /** The instances' RAM role; without it hosts need static keys (FERRY_PULL_ACCESS_KEY_ID at setup). */
  ramRole?: string;
  metadataEndpoint: string;
}

export interface HookConfig {
  run: string;
  timeoutSeconds: number;
  /** Canary host only (host hooks). */
  once: boolean;
}

export interface HooksConfig {
  beforeSwitch: HookConfig[];
  afterSwitch: HookConfig[];
  afterDeploy: HookConfig[];
}

export interface NotificationConfig {
  type: NotifyType;
  /** Its place in releases.yaml: warnings name it (`notifications[1] (slack)`), never its URL. */
  index: number;
  /** The environment variable holding the URL (`url: ${NAME}`), read when a message is sent. */
  urlEnv: string;
  secretEnv?: string;
  events: NotifyEventName[];
  /** null: every environment. */
  environments: string[] | null;
}

export interface FerryConfig {
  /** Absolute path of releases.yaml. */
  file: string;
  /** Its folder: the project root that relative paths resolve against. */
  root: string;
  app: AppConfig;
  registry: RegistryConfig;
  /** null until `ferry keygen` output is pasted in (or FERRY_SIGNING_PUBLIC_KEY is set). */
  signing: { publicKey: string | null };
  environments: Record<string, EnvironmentConfig>;
  hooks: HooksConfig;
  notifications: NotificationConfig[];
}

export function resolveConfig(
  raw: ReleasesFile,
  file: string,
  root: string,
  env: Record<string, string | undefined>,
): FerryConfig {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(root, p));
  const port = raw.app.port ?? 3000;
  const reg = raw.registry;
  const registry: RegistryConfig =
    reg.type === 'local'
      ? { type: 'local', path: abs(reg.path ?? '.ferry/registry'), prefix: reg.prefix ?? 'releases' }
      : {
          type: 'oss',
          bucket: reg.bucket,
          region: reg.region,
          prefix: reg.prefix ?? 'releases',
          endpoint: stripSlash(reg.endpoint ?? `https://${reg.region}.aliyuncs.com`),
          internalEndpoint: stripSlash(reg.internalEndpoint ?? `https://${reg.region}-internal.aliyuncs.com`),
          cname: reg.cname ?? false,
        };
  const environments: Record<string, EnvironmentConfig> = {};
  for (const [name, e] of Object.entries(raw.environments ?? {})) {
    environments[name] = resolveEnvironment(name, e, raw.app.name, port, abs);
  }
  const envKey = env.FERRY_SIGNING_PUBLIC_KEY?.trim();
  return {
    file,
    root,
    app: {
      name: raw.app.name,
      entry: raw.app.entry,
      entryPath: abs(raw.app.entry),
      port,
      node: raw.app.node ?? '>=20',
      env: { ...(raw.app.env ?? {}) },
      ...(raw.app.runtime
        ? {
            runtime: {
              node: raw.app.runtime.node,
              arch: [...(raw.app.runtime.arch ?? ['x64'])],
              from: parseRuntimeFrom(raw.app.runtime.from, abs),
            },
          }
        : {}),
    },
    registry,
    signing: { publicKey: envKey || raw.signing?.publicKey || null },
    environments,
    hooks: resolveHooks(raw.hooks),
    notifications: (raw.notifications ?? []).map(resolveNotification),
  };
}

function resolveHooks(raw: HooksFile | undefined): HooksConfig {
  const list = (hooks: { run: string; timeoutSeconds?: number; once?: boolean }[] | undefined) =>
    (hooks ?? []).map((h) => ({
      run: h.run,
      timeoutSeconds: h.timeoutSeconds ?? DEFAULT_HOOK_TIMEOUT_SECONDS,
      once: h.once ?? false,
    }));
  return {
    beforeSwitch: list(raw?.beforeSwitch),
    afterSwitch: list(raw?.afterSwitch),
    afterDeploy: list(raw?.afterDeploy),
  };
}

function resolveNotification(n: NotificationFile, index: number): NotificationConfig {
  const name = (ref: string) => ENV_REF.exec(ref)?.[1] as string;
  return {
    type: n.type,
    index,
    urlEnv: name(n.url),
    ...(n.secret ? { secretEnv: name(n.secret) } : {}),
    events: n.events ? [...new Set(n.events)] : [...NOTIFY_EVENTS],
    environments: n.environments ? [...n.environments] : null,
  };
}

function resolveEnvironment(
  name: string,
  e: EnvironmentFile,
  appName: string,
  appPort: number,
  abs: (p: string) => string,
): EnvironmentConfig {
  const local = e.transport === 'local';
  const path = local ? abs(e.path) : e.path;
  return {
    name,
    transport: e.transport,
    hosts: e.hosts.map((h) => {
      const address = h.address ?? '127.0.0.1';
      const hostName = h.name ?? address;
      return {
        name: hostName,
        address,
        port: h.port ?? 22,
        appPort: h.appPort ?? appPort,
        path: local ? resolve(path, hostName) : (h.path ?? path),
        ...(h.hostKey ? { hostKey: h.hostKey } : {}),
      };
    }),
    user: e.user,
    ...(e.knownHostsFile ? { knownHostsFile: abs(e.knownHostsFile) } : {}),
    path,
    keep: e.keep ?? 5,
    batch: (e.batch ?? 1) as BatchSpec,
    concurrency: e.concurrency ?? 10,
    health: {
      path: e.health?.path ?? '/healthz',
      versionPath: e.health?.versionPath === false ? null : (e.health?.versionPath ?? '/version'),
      timeoutSeconds: e.health?.timeoutSeconds ?? 60,
      intervalMs: e.health?.intervalMs ?? 500,
    },
    bakeSeconds: e.bakeSeconds ?? 0,
    service: {
      mode: e.service?.mode ?? (local ? 'process' : 'systemd'),
      workers: e.service?.workers ?? 1,
      unitName: e.service?.unitName ?? appName,
      bind: e.service?.bind ?? (local ? '127.0.0.1' : '0.0.0.0'),
      standbySeconds: e.service?.standbySeconds ?? 900,
      ...(e.service?.logFileMiB !== undefined ? { logFileMiB: e.service.logFileMiB } : {}),
      ...(e.service?.logFiles !== undefined ? { logFiles: e.service.logFiles } : {}),
    },
    lockTtlSeconds: e.lockTtlSeconds ?? 900,
    urlTtlSeconds: e.urlTtlSeconds ?? Math.max(900, (e.health?.timeoutSeconds ?? 60) * 3),
    ...(e.pull
      ? {
          pull: {
            intervalSeconds: e.pull.intervalSeconds ?? 120,
            jitterSeconds: e.pull.jitterSeconds ?? 60,
            channelTtlSeconds: e.pull.channelTtlSeconds ?? 7 * 86400,
            ...(e.pull.ramRole ? { ramRole: e.pull.ramRole } : {}),
            metadataEndpoint: stripSlash(e.pull.metadataEndpoint ?? 'http://100.100.100.200'),
          },
        }
      : {}),
  };
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
