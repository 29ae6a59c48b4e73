// `ferry build`: bundle the app with ncc, describe every file in manifest.json, and pack both into one
// reproducible .tar.br (brotli: 0.79x the gzip -9 size for the storage service, and as quick to unpack;
// docs/performance.md). Layout inside the artifact:
//   manifest.json            name, version, commit, buildTime, node, entry, sha256 + size of every file,
//                            the source map's size + sha256, the bundled packages, the app's settings
//   app/index.js             the bundle (the manifest's entry)
//   app/…                    every asset ncc emitted (package.json with "type", static files, …)
// The source map (more than half of the compressed size) is not inside: it is written beside the
// artifact as <app>-<version>.js.map.gz and published as its own object, which hosts never download.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { FerryConfig } from '../config/resolve';
import { ConfigError, UsageError } from '../errors';
import { artifactName, sourceMapName } from '../release/layout';
import {
  checkVersion,
  MANIFEST_FILE,
  MANIFEST_SCHEMA,
  type ReleaseManifest,
  serializeManifest,
} from '../release/manifest';
import { runtimeCacheDir } from '../runtime/cache';
import { type PreparedRuntime, prepareRuntime } from '../runtime/prepare';
import { assertNoCredentials } from '../scan/check';
import type { BundledFile } from './bundle';
import { bundleCacheDir, cachedBundle } from './bundle-cache';
import { bundledDependencies } from './dependencies';
import { sha256 } from './hash';
import { releaseSettings } from './settings';
import { defaultVersion, sourceInfo } from './source-info';
import { createTarBr, gzipDeterministic, type TarFile } from './tar';

export const BUNDLE_DIR = 'app';
export const ENTRY = `${BUNDLE_DIR}/index.js`;

export interface BuildOptions {
  config: FerryConfig;
  env: Record<string, string | undefined>;
  version?: string | undefined;
  /** Output folder; default <project root>/dist. */
  outDir?: string | undefined;
  onStep?: (message: string) => void;
  /** Run ncc even when the bundle cache has this tree's bundle. */
  noCache?: boolean;
}

export interface BuildResult {
  path: string;
  size: number;
  sha256: string;
  version: string;
  manifest: ReleaseManifest;
  /** Every file in the artifact, manifest included, for the credential scan. */
  files: TarFile[];
  /** app.runtime resolved and packed into the cache (what publish will upload); null without one. */
  runtime: PreparedRuntime | null;
  /** Whether the ncc bundle came from the bundle cache. */
  bundleCached: boolean;
  /** The entry's source map, written beside the artifact; null when ncc emitted none. */
  sourceMapPath: string | null;
}

export async function buildRelease(opts: BuildOptions): Promise<BuildResult> {
  const { config } = opts;
  if (!existsSync(config.app.entryPath)) {
    throw new ConfigError(`app.entry: ${config.app.entryPath} does not exist`, {
      remedy: `set app.entry in ${config.file} to the app's entry file`,
    });
  }
  const source = sourceInfo(config.root, opts.env);
  const version = opts.version ?? defaultVersion(config.root, source.commit);
  const bad = checkVersion(version);
  if (bad) throw new UsageError(bad);

  // Before the (slower) bundle: an unreachable source or a wrong binary should fail fast. The runtime is
  // not inside the artifact; it is its own registry object, pinned by the signed manifest at publish.
  const runtime = await prepareRuntime({
    config,
    cacheDir: runtimeCacheDir(config.root, opts.env),
    onStep: (m) => opts.onStep?.(m),
  });
  for (const note of runtime?.notes ?? []) opts.onStep?.(note);

  const outDir = resolve(opts.outDir ?? join(config.root, 'dist'));
  const cache = await cachedBundle({
    entryPath: config.app.entryPath,
    root: config.root,
    cacheDir: bundleCacheDir(config.root, opts.env),
    noCache: opts.noCache,
    exclude: [outDir],
    onMiss: () => opts.onStep?.(`bundling ${config.app.entry} with ncc`),
  });
  if (cache.hit)
    opts.onStep?.(`bundle of ${config.app.entry} unchanged (cache ${cache.key?.slice(0, 12)}): ncc skipped`);
  const bundled = cache.files;
  // ncc names its output after the entry's module kind: index.mjs for an .mjs entry, else index.js.
  const entryName = bundled.some((f) => f.path === 'index.js') ? 'index.js' : 'index.mjs';
  const map = bundled.find((f) => f.path === `${entryName}.map`);
  const files: TarFile[] = bundled
    .filter((f) => f !== map)
    .map((f) => ({ path: `${BUNDLE_DIR}/${f.path}`, bytes: f.bytes, executable: f.executable }));
  const entry = `${BUNDLE_DIR}/${entryName}`;
  const dependencies = map ? dependenciesOf(map, dirname(config.app.entryPath)) : null;
  // Gzipped (6.5 MB of JSON is 1.5 MB), deterministically, so it hashes the same. Not brotli: hosts never
  // fetch it, and `ferry trace` reads it as gzip.
  const mapGz = map ? gzipDeterministic(map.bytes) : null;
  const manifest: ReleaseManifest = {
    schema: MANIFEST_SCHEMA,
    name: config.app.name,
    version,
    commit: source.commit,
    buildTime: new Date(source.epoch * 1000).toISOString(),
    node: config.app.node,
    entry,
    files: files.map((f) => ({ path: f.path, size: f.bytes.length, sha256: sha256(f.bytes) })),
    ...(mapGz
      ? {
          sourceMap: {
            file: sourceMapName(config.app.name, version),
            for: entry,
            size: mapGz.length,
            sha256: sha256(mapGz),
          },
        }
      : {}),
    ...(dependencies ? { dependencies } : {}),
    settings: releaseSettings(config),
  };
  files.push({ path: MANIFEST_FILE, bytes: serializeManifest(manifest) });
  // Refuse before writing: an artifact with a credential in it should not exist even locally.
  assertNoCredentials(files, `${config.app.name} ${version}`);

  const artifact = createTarBr(files, source.epoch);
  const path = join(outDir, artifactName(config.app.name, version, 'brotli'));
  // The map first: an artifact on disk always has its map beside it for publish to find.
  const sourceMapPath = map ? join(dirname(path), sourceMapName(config.app.name, version)) : null;
  if (map && mapGz && sourceMapPath) {
    assertNoCredentials([{ path: `${entry}.map`, bytes: map.bytes }], `${config.app.name} ${version}`);
    await writeAtomic(sourceMapPath, mapGz);
  }
  await writeAtomic(path, artifact);
  return {
    path,
    size: artifact.length,
    sha256: sha256(artifact),
    version,
    manifest,
    files,
    runtime,
    sourceMapPath,
    bundleCached: cache.hit,
  };
}

/** The npm packages in the bundle, from its source map and the entry's lockfile; null without one. */
function dependenciesOf(map: BundledFile, from: string) {
  const lockfile = findUp(from, ['npm-shrinkwrap.json', 'package-lock.json']);
  if (lockfile === null) return null;
  const sources = (JSON.parse(map.bytes.toString()) as { sources?: unknown }).sources;
  return bundledDependencies(
    Array.isArray(sources) ? sources.filter((x): x is string => typeof x === 'string') : [],
    JSON.parse(readFileSync(lockfile, 'utf8')),
  );
}

function findUp(from: string, names: string[]): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    for (const n of names) if (existsSync(join(dir, n))) return join(dir, n);
    if (dirname(dir) === dir) return null;
  }
}

async function writeAtomic(path: string, bytes: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
