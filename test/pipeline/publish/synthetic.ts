// Hand-made release artifacts (no ncc): a valid manifest over whatever files a test needs, so publish and
// verification paths are tested quickly, including artifacts `ferry build` would refuse to make.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sha256 } from '../../../pipeline/build/hash';
import { createTarBr, createTarGz } from '../../../pipeline/build/tar';
import { parseConfig } from '../../../pipeline/config/load';
import type { FerryConfig, RegistryConfig } from '../../../pipeline/config/resolve';
import { type ArtifactFormat, artifactName, sourceMapName } from '../../../pipeline/release/layout';
import { MANIFEST_SCHEMA, type ReleaseManifest, serializeManifest } from '../../../pipeline/release/manifest';

export async function syntheticArtifact(
  dir: string,
  opts: {
    name?: string;
    version: string;
    files?: Record<string, string>;
    manifestPatch?: Partial<ReleaseManifest>;
    /** A source map for app/index.js, gzipped and written beside the artifact as `ferry build` does. */
    sourceMap?: string;
    /** brotli (default) as `ferry build` packs now; gzip as it packed before. */
    format?: ArtifactFormat;
  },
): Promise<string> {
  const name = opts.name ?? 'fixture';
  const files = Object.entries(
    opts.files ?? { 'app/index.js': `console.log(${JSON.stringify(opts.version)});\n` },
  ).map(([path, text]) => ({ path, bytes: Buffer.from(text) }));
  const manifest: ReleaseManifest = {
    schema: MANIFEST_SCHEMA,
    name,
    version: opts.version,
    commit: null,
    buildTime: '2024-01-01T00:00:00.000Z',
    node: '>=20',
    entry: 'app/index.js',
    files: files.map((f) => ({ path: f.path, size: f.bytes.length, sha256: sha256(f.bytes) })),
    ...opts.manifestPatch,
  };
  await mkdir(dir, { recursive: true });
  if (opts.sourceMap !== undefined) {
    const map = gzipSync(opts.sourceMap);
    const file = sourceMapName(name, opts.version);
    manifest.sourceMap = { file, for: 'app/index.js', size: map.length, sha256: sha256(map) };
    await writeFile(join(dir, file), map);
  }
  const format = opts.format ?? 'brotli';
  const path = join(dir, artifactName(name, opts.version, format));
  const pack = format === 'brotli' ? createTarBr : createTarGz;
  await writeFile(path, pack([...files, { path: 'manifest.json', bytes: serializeManifest(manifest) }], 0));
  return path;
}

/** A resolved config for app "fixture" on the given registry, trusting `publicKey`. */
export function configFor(
  registry: RegistryConfig,
  publicKey: string | null,
  root = '/project',
): FerryConfig {
  const config = parseConfig(
    'app: {name: fixture, entry: app/server.ts}\nregistry: {type: local}\n',
    `${root}/releases.yaml`,
  );
  return { ...config, registry, signing: { publicKey } };
}
