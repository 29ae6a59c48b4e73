// `ferry build`: bundle the app with ncc, describe every file in manifest.json, and pack both into one
// reproducible .tar.gz. Layout inside the artifact:
//   manifest.json            name, version, commit, buildTime, node, entry, sha256 + size of every file
//   app/index.js             the bundle (the manifest's entry)
//   app/index.js.map, app/…  source map and every asset ncc emitted (package.json with "type", …)
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { FerryConfig } from '../config/resolve';
import { ConfigError, UsageError } from '../errors';
import { artifactName } from '../release/layout';
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
import { bundleApp } from './bundle';
import { sha256 } from './hash';
import { defaultVersion, sourceInfo } from './source-info';
import { createTarGz, type TarFile } from './tar';

export const BUNDLE_DIR = 'app';
export const ENTRY = `${BUNDLE_DIR}/index.js`;

export interface BuildOptions {
  config: FerryConfig;
  env: Record<string, string | undefined>;
  version?: string | undefined;
  /** Output folder; default <project root>/dist. */
  outDir?: string | undefined;
  onStep?: (message: string) => void;
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

  opts.onStep?.(`bundling ${config.app.entry} with ncc`);
  const bundled = await bundleApp(config.app.entryPath, config.root);
  const files: TarFile[] = bundled.map((f) => ({
    path: `${BUNDLE_DIR}/${f.path}`,
    bytes: f.bytes,
    executable: f.executable,
  }));
  const manifest: ReleaseManifest = {
    schema: MANIFEST_SCHEMA,
    name: config.app.name,
    version,
    commit: source.commit,
    buildTime: new Date(source.epoch * 1000).toISOString(),
    node: config.app.node,
    // ncc names its output after the entry's module kind: index.mjs for an .mjs entry, else index.js.
    entry: files.some((f) => f.path === ENTRY) ? ENTRY : `${BUNDLE_DIR}/index.mjs`,
    files: files.map((f) => ({ path: f.path, size: f.bytes.length, sha256: sha256(f.bytes) })),
  };
  files.push({ path: MANIFEST_FILE, bytes: serializeManifest(manifest) });
  // Refuse before writing: an artifact with a credential in it should not exist even locally.
  assertNoCredentials(files, `${config.app.name} ${version}`);

  const gz = createTarGz(files, source.epoch);
  const path = resolve(opts.outDir ?? join(config.root, 'dist'), artifactName(config.app.name, version));
  await writeAtomic(path, gz);
  return { path, size: gz.length, sha256: sha256(gz), version, manifest, files, runtime };
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
