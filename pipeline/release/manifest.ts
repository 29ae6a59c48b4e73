// The release manifest: the one document that says what a release is. The copy inside the artifact
// lists the files; the copy published next to the artifact adds the artifact's own size and sha256
// (which cannot live inside the artifact it hashes) and is what gets signed.

import {
  type BundledDependency,
  checkDependencies,
  checkSettings,
  checkSourceMap,
  orderedDependencies,
  orderedSettings,
  orderedSourceMap,
  type ReleaseSettings,
  type SourceMapRef,
} from './manifest-details';

export type {
  BundledDependency,
  EnvironmentSettings,
  ReleaseSettings,
  SourceMapRef,
} from './manifest-details';

// Still 1 with the optional fields added since (sourceMap, dependencies, settings): agents already on
// hosts accept a schema-1 manifest and ignore fields they do not know.
export const MANIFEST_SCHEMA = 1;
export const MANIFEST_FILE = 'manifest.json';

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export const RUNTIME_ARCHES = ['x64', 'arm64'] as const;
export type RuntimeArch = (typeof RUNTIME_ARCHES)[number];

/** One packed Node runtime in the registry: bin/node plus licences, content-addressed by its sha256. */
export interface RuntimeArtifact {
  /** Registry key, e.g. releases/runtimes/node-22.23.5-linux-x64-1a2b3c4d5e6f.tar.gz (release/layout.ts). */
  key: string;
  size: number;
  sha256: string;
  /** Lowest glibc the binary links against (its GLIBC_2.x symbol versions), e.g. "2.28"; null if unknown. */
  glibc: string | null;
}

/** The runtime a release runs on, pinned per CPU architecture. Part of the signed manifest. */
export interface RuntimePin {
  name: 'node';
  /** Exact version, no leading v: "22.23.5". */
  version: string;
  artifacts: Partial<Record<RuntimeArch, RuntimeArtifact>>;
}

export interface ReleaseManifest {
  schema: number;
  name: string;
  version: string;
  commit: string | null;
  buildTime: string;
  /** Node engine range the bundle needs, e.g. ">=20". */
  node: string;
  /** The bundle to run, relative to the release root, e.g. "app/index.js". */
  entry: string;
  files: ManifestFile[];
  /** The entry's source map, published as its own object beside the artifact (absent on older releases). */
  sourceMap?: SourceMapRef;
  /** npm packages inside the bundle, from the lockfile at build time (absent without a lockfile). */
  dependencies?: BundledDependency[];
  /** app.port, app.env and each environment's service and health settings at build time. */
  settings?: ReleaseSettings;
  /** Present only on the published (signed) manifest. */
  artifact?: { file: string; size: number; sha256: string };
  /**
   * Present only on the published (signed) manifest, so the signature covers the runtime's bytes too.
   * Absent on releases published before runtimes were shipped: those run on the host's agent runtime.
   */
  runtime?: RuntimePin;
}

const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/;

/** Versions become directory names and registry keys, so they are held to a safe alphabet. */
export function checkVersion(version: string): string | null {
  if (!VERSION_RE.test(version) || version.includes('..')) {
    return `"${version}" is not a valid version: use letters, digits, dots, dashes, underscores or plus (max 64), e.g. 1.4.0 or 2026.11.30-1`;
  }
  return null;
}

/**
 * Deterministic bytes: keys in a fixed order, files sorted by path, a trailing newline. Two builds of the
 * same commit must give byte-identical manifests, and the signature covers exactly these bytes.
 */
export function serializeManifest(m: ReleaseManifest): Buffer {
  const ordered: ReleaseManifest = {
    schema: m.schema,
    name: m.name,
    version: m.version,
    commit: m.commit,
    buildTime: m.buildTime,
    node: m.node,
    entry: m.entry,
    files: [...m.files]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
    ...(m.sourceMap ? { sourceMap: orderedSourceMap(m.sourceMap) } : {}),
    ...(m.dependencies ? { dependencies: orderedDependencies(m.dependencies) } : {}),
    ...(m.settings ? { settings: orderedSettings(m.settings) } : {}),
    ...(m.artifact
      ? { artifact: { file: m.artifact.file, size: m.artifact.size, sha256: m.artifact.sha256 } }
      : {}),
    ...(m.runtime ? { runtime: orderedRuntime(m.runtime) } : {}),
  };
  return Buffer.from(`${JSON.stringify(ordered, null, 2)}\n`);
}

function orderedRuntime(r: RuntimePin): RuntimePin {
  const artifacts: RuntimePin['artifacts'] = {};
  for (const arch of RUNTIME_ARCHES) {
    const a = r.artifacts[arch];
    if (a) artifacts[arch] = { key: a.key, size: a.size, sha256: a.sha256, glibc: a.glibc };
  }
  return { name: r.name, version: r.version, artifacts };
}

const RUNTIME_VERSION_RE = /^[0-9]+\.[0-9]+\.[0-9]+$/;

/** Parses and shape-checks a manifest; throws an Error naming the first bad field. */
export function parseManifest(bytes: Buffer | string): ReleaseManifest {
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString());
  } catch {
    throw new Error('manifest is not valid JSON');
  }
  const m = data as Record<string, unknown>;
  const need = (cond: boolean, what: string) => {
    if (!cond) throw new Error(`manifest: ${what}`);
  };
  need(typeof m === 'object' && m !== null, 'must be an object');
  need(m.schema === MANIFEST_SCHEMA, `schema must be ${MANIFEST_SCHEMA}`);
  need(typeof m.name === 'string' && m.name.length > 0, 'name must be a non-empty string');
  need(typeof m.version === 'string' && checkVersion(m.version) === null, 'version is invalid');
  need(m.commit === null || typeof m.commit === 'string', 'commit must be a string or null');
  need(typeof m.buildTime === 'string', 'buildTime must be a string');
  need(typeof m.node === 'string', 'node must be a string');
  need(typeof m.entry === 'string' && isSafeRelativePath(m.entry), 'entry must be a safe relative path');
  need(Array.isArray(m.files), 'files must be an array');
  for (const f of m.files as unknown[]) {
    const file = f as Record<string, unknown>;
    need(
      typeof file.path === 'string' && isSafeRelativePath(file.path),
      `unsafe file path ${String(file.path)}`,
    );
    need(Number.isSafeInteger(file.size) && (file.size as number) >= 0, `bad size for ${file.path}`);
    need(
      typeof file.sha256 === 'string' && /^[0-9a-f]{64}$/.test(file.sha256),
      `bad sha256 for ${file.path}`,
    );
  }
  if (m.artifact !== undefined) {
    const a = m.artifact as Record<string, unknown>;
    need(
      typeof a.file === 'string' && isSafeRelativePath(a.file) && !a.file.includes('/'),
      'artifact.file is invalid',
    );
    need(Number.isSafeInteger(a.size) && (a.size as number) > 0, 'artifact.size is invalid');
    need(typeof a.sha256 === 'string' && /^[0-9a-f]{64}$/.test(a.sha256), 'artifact.sha256 is invalid');
  }
  if (m.runtime !== undefined) checkRuntimePin(m.runtime, need);
  if (m.sourceMap !== undefined) checkSourceMap(m.sourceMap, need, isSafeRelativePath);
  if (m.dependencies !== undefined) checkDependencies(m.dependencies, need);
  if (m.settings !== undefined) checkSettings(m.settings, need);
  return m as unknown as ReleaseManifest;
}

function checkRuntimePin(value: unknown, need: (cond: boolean, what: string) => void): void {
  const r = value as Record<string, unknown>;
  need(typeof r === 'object' && r !== null, 'runtime must be an object');
  need(r.name === 'node', 'runtime.name must be "node"');
  need(typeof r.version === 'string' && RUNTIME_VERSION_RE.test(r.version), 'runtime.version must be x.y.z');
  need(typeof r.artifacts === 'object' && r.artifacts !== null, 'runtime.artifacts must be an object');
  const artifacts = r.artifacts as Record<string, unknown>;
  const arches = Object.keys(artifacts);
  need(arches.length > 0, 'runtime.artifacts must name at least one arch');
  for (const arch of arches) {
    need(
      (RUNTIME_ARCHES as readonly string[]).includes(arch),
      `runtime.artifacts.${arch} is not x64 or arm64`,
    );
    const a = artifacts[arch] as Record<string, unknown>;
    const at = `runtime.artifacts.${arch}`;
    need(typeof a === 'object' && a !== null, `${at} must be an object`);
    need(typeof a.key === 'string' && isSafeRelativePath(a.key), `${at}.key is invalid`);
    need(Number.isSafeInteger(a.size) && (a.size as number) > 0, `${at}.size is invalid`);
    need(typeof a.sha256 === 'string' && /^[0-9a-f]{64}$/.test(a.sha256), `${at}.sha256 is invalid`);
    need(
      a.glibc === null || (typeof a.glibc === 'string' && /^2\.[0-9]{1,3}$/.test(a.glibc)),
      `${at}.glibc is invalid`,
    );
  }
}

/** A relative POSIX path with no empty, "." or ".." segments and no NUL/backslash. */
export function isSafeRelativePath(p: string): boolean {
  if (p.length === 0 || p.length > 1024 || p.startsWith('/') || /[\0\\]/.test(p)) return false;
  return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}
