// What a manifest records besides its files, so two releases can be compared from their signed manifests
// alone (`ferry diff`) and a stack trace decoded later (`ferry trace`): the source map kept beside the
// artifact, the npm packages in the bundle with their licences, and the app's settings. All optional:
// releases built before these existed have none, and hosts ignore them.

/** The bundle's source map: its own registry object beside the artifact, never inside it. */
export interface SourceMapRef {
  /** Object name in the release's folder, e.g. "ferry-storage-1.4.0.js.map.gz" (release/layout.ts). */
  file: string;
  /** The bundled file it maps, relative to the release root: the manifest's entry. */
  for: string;
  /** Of the gzipped object. */
  size: number;
  sha256: string;
}

/** One npm package inside the bundle, as the lockfile pins it. */
export interface BundledDependency {
  name: string;
  version: string;
  /** The lockfile's licence field (SPDX expression); null when the package declares none. */
  license: string | null;
}

/** Per environment: how the service runs there (releases.yaml's service and health). */
export interface EnvironmentSettings {
  service: { mode: 'systemd' | 'process'; workers: number; unitName: string; bind: string };
  health: { path: string; timeoutSeconds: number; intervalMs: number };
}

/** The app's settings from releases.yaml at build time. app.env holds no secrets (the loader refuses them). */
export interface ReleaseSettings {
  port: number;
  env: Record<string, string>;
  environments: Record<string, EnvironmentSettings>;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function orderedSourceMap(s: SourceMapRef): SourceMapRef {
  return { file: s.file, for: s.for, size: s.size, sha256: s.sha256 };
}

export function orderedDependencies(deps: readonly BundledDependency[]): BundledDependency[] {
  return [...deps]
    .sort((a, b) => byName(a.name, b.name) || byName(a.version, b.version))
    .map((d) => ({ name: d.name, version: d.version, license: d.license }));
}

export function orderedSettings(s: ReleaseSettings): ReleaseSettings {
  const env: Record<string, string> = {};
  for (const k of Object.keys(s.env).sort(byName)) env[k] = s.env[k] as string;
  const environments: Record<string, EnvironmentSettings> = {};
  for (const name of Object.keys(s.environments).sort(byName)) {
    const e = s.environments[name] as EnvironmentSettings;
    environments[name] = {
      service: {
        mode: e.service.mode,
        workers: e.service.workers,
        unitName: e.service.unitName,
        bind: e.service.bind,
      },
      health: {
        path: e.health.path,
        timeoutSeconds: e.health.timeoutSeconds,
        intervalMs: e.health.intervalMs,
      },
    };
  }
  return { port: s.port, env, environments };
}

type Need = (cond: boolean, what: string) => void;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const SHA256_RE = /^[0-9a-f]{64}$/;

export function checkSourceMap(value: unknown, need: Need, isSafePath: (p: string) => boolean): void {
  need(isObject(value), 'sourceMap must be an object');
  const s = value as Record<string, unknown>;
  need(
    typeof s.file === 'string' && isSafePath(s.file) && !s.file.includes('/'),
    'sourceMap.file must be a file name',
  );
  need(typeof s.for === 'string' && isSafePath(s.for), 'sourceMap.for must be a safe relative path');
  need(Number.isSafeInteger(s.size) && (s.size as number) > 0, 'sourceMap.size is invalid');
  need(typeof s.sha256 === 'string' && SHA256_RE.test(s.sha256), 'sourceMap.sha256 is invalid');
}

export function checkDependencies(value: unknown, need: Need): void {
  need(Array.isArray(value), 'dependencies must be an array');
  (value as unknown[]).forEach((d, i) => {
    const at = `dependencies[${i}]`;
    need(isObject(d), `${at} must be an object`);
    const dep = d as Record<string, unknown>;
    need(typeof dep.name === 'string' && dep.name.length > 0, `${at}.name must be a non-empty string`);
    need(typeof dep.version === 'string' && dep.version.length > 0, `${at}.version must be a string`);
    need(dep.license === null || typeof dep.license === 'string', `${at}.license must be a string or null`);
  });
}

export function checkSettings(value: unknown, need: Need): void {
  need(isObject(value), 'settings must be an object');
  const s = value as Record<string, unknown>;
  need(Number.isSafeInteger(s.port), 'settings.port must be a whole number');
  need(isObject(s.env), 'settings.env must be an object');
  for (const [k, v] of Object.entries(s.env as object))
    need(typeof v === 'string', `settings.env.${k} must be a string`);
  need(isObject(s.environments), 'settings.environments must be an object');
  for (const [name, e] of Object.entries(s.environments as object)) {
    const at = `settings.environments.${name}`;
    need(isObject(e) && isObject(e.service) && isObject(e.health), `${at} must have service and health`);
    const { service, health } = e as { service: Record<string, unknown>; health: Record<string, unknown> };
    need(service.mode === 'systemd' || service.mode === 'process', `${at}.service.mode is invalid`);
    need(Number.isSafeInteger(service.workers), `${at}.service.workers is invalid`);
    need(typeof service.unitName === 'string', `${at}.service.unitName is invalid`);
    need(typeof service.bind === 'string', `${at}.service.bind is invalid`);
    need(typeof health.path === 'string', `${at}.health.path is invalid`);
    need(Number.isFinite(health.timeoutSeconds), `${at}.health.timeoutSeconds is invalid`);
    need(Number.isFinite(health.intervalMs), `${at}.health.intervalMs is invalid`);
  }
}
