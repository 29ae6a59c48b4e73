// Where things live in the registry. Both registry backends (OSS, local folder) and the host agent use
// these functions, so the layout is written down once.

export const INDEX_FILE = 'index.json';

export function releasePrefix(prefix: string, app: string, version: string): string {
  return joinKey(prefix, app, version);
}

/**
 * How a release artifact is compressed. `ferry build` writes brotli; releases published before it are
 * gzip, and stay deployable. The signed manifest's artifact.file says which: hosts never sniff the bytes.
 */
export type ArtifactFormat = 'brotli' | 'gzip';

const ARTIFACT_EXTENSIONS: Record<ArtifactFormat, string> = { brotli: '.tar.br', gzip: '.tar.gz' };

export function artifactName(app: string, version: string, format: ArtifactFormat): string {
  return `${app}-${version}${ARTIFACT_EXTENSIONS[format]}`;
}

/** The format an artifact's file name says, or null for a name that is neither .tar.br nor .tar.gz. */
export function artifactFormat(file: string): ArtifactFormat | null {
  for (const [format, ext] of Object.entries(ARTIFACT_EXTENSIONS)) {
    if (file.endsWith(ext) && file.length > ext.length) return format as ArtifactFormat;
  }
  return null;
}

export function artifactExtension(format: ArtifactFormat): string {
  return ARTIFACT_EXTENSIONS[format];
}

/**
 * The artifact's key: the file the published manifest names, in the version's folder. Not in releaseKeys,
 * because only the manifest knows it (a release published before brotli is .tar.gz).
 */
export function artifactKey(prefix: string, app: string, version: string, file: string): string {
  return `${releasePrefix(prefix, app, version)}/${file}`;
}

/** The bundle's source map, gzipped, built and published beside the artifact; hosts never fetch it. */
export function sourceMapName(app: string, version: string): string {
  return `${app}-${version}.js.map.gz`;
}

export function releaseKeys(prefix: string, app: string, version: string) {
  const dir = releasePrefix(prefix, app, version);
  return {
    sourceMap: `${dir}/${sourceMapName(app, version)}`,
    manifest: `${dir}/manifest.json`,
    signature: `${dir}/manifest.json.sig`,
  };
}

/**
 * A packed Node runtime, shared by every release (and app) under the prefix: content-addressed, so two
 * releases on the same runtime share one object and an upload never replaces different bytes.
 */
export function runtimeKey(prefix: string, version: string, arch: string, sha256: string): string {
  return joinKey(prefix, 'runtimes', `node-${version}-linux-${arch}-${sha256.slice(0, 12)}.tar.gz`);
}

/** The folder of every packed runtime under the prefix (what `ferry gc` surveys). */
export function runtimesPrefix(prefix: string): string {
  return `${joinKey(prefix, 'runtimes')}/`;
}

export function indexKey(prefix: string, app: string): string {
  return joinKey(prefix, app, INDEX_FILE);
}

function joinKey(...parts: string[]): string {
  return parts
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter((p) => p.length > 0)
    .join('/');
}

/** Where each environment's current release is recorded (pipeline/registry/env-record.ts). */
export function environmentsPrefix(prefix: string, app: string): string {
  return `${joinKey(prefix, app, 'environments')}/`;
}

export function environmentKey(prefix: string, app: string, env: string): string {
  return joinKey(prefix, app, 'environments', `${env}.json`);
}

/** Where each environment's signed channel lives: what hosts in pull mode converge to (pipeline/channels). */
export function channelKey(prefix: string, app: string, env: string): string {
  return joinKey(prefix, app, 'channels', `${env}.json`);
}

/** Where hosts in pull mode report what they run: one object per host. */
export function hostStatusPrefix(prefix: string, app: string, env: string): string {
  return `${joinKey(prefix, app, 'status', env)}/`;
}

export function hostStatusKey(prefix: string, app: string, env: string, host: string): string {
  return joinKey(prefix, app, 'status', env, `${host}.json`);
}

/** Folder names next to the version folders, which therefore cannot be versions. */
export const RESERVED_VERSIONS: readonly string[] = [
  'environments',
  INDEX_FILE,
  'status',
  'locks',
  'channels',
  'audit',
];
