// Release artifacts for the parts, packed exactly as `ferry build` packs them (manifest.json + app/ at
// the root, reproducible tar.br) from files already bundled, so a part that needs several versions of
// the same bundle pays for ncc once.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE_DIR, ENTRY } from '../../pipeline/build/build';
import { sha256 } from '../../pipeline/build/hash';
import { createTarBr, createTarGz, type TarFile } from '../../pipeline/build/tar';
import { type ArtifactFormat, artifactName } from '../../pipeline/release/layout';
import {
  MANIFEST_FILE,
  MANIFEST_SCHEMA,
  type ReleaseManifest,
  serializeManifest,
} from '../../pipeline/release/manifest';
import { fakeAppSource } from '../../test/fixtures/fake-app';

export interface BundledFile {
  path: string;
  bytes: Buffer;
  executable?: boolean;
}

export interface PackedRelease {
  name: string;
  version: string;
  /** The artifact's bytes, compressed as `format` says. */
  bytes: Buffer;
  format: ArtifactFormat;
  /** The inner manifest (inside the artifact). */
  manifest: ReleaseManifest;
}

/** `format` gzip packs as releases were before brotli. */
export function packRelease(
  name: string,
  version: string,
  bundled: readonly BundledFile[],
  format: ArtifactFormat = 'brotli',
): PackedRelease {
  // As `ferry build` packs it: the entry's source map is its own registry object, not in the artifact.
  const files: TarFile[] = bundled
    .filter((f) => f.path !== 'index.js.map')
    .map((f) => ({
      path: `${BUNDLE_DIR}/${f.path}`,
      bytes: f.bytes,
      executable: f.executable ?? false,
    }));
  const manifest: ReleaseManifest = {
    schema: MANIFEST_SCHEMA,
    name,
    version,
    commit: null,
    buildTime: '2026-01-01T00:00:00.000Z',
    node: '>=20',
    entry: ENTRY,
    files: files.map((f) => ({ path: f.path, size: f.bytes.length, sha256: sha256(f.bytes) })),
  };
  files.push({ path: MANIFEST_FILE, bytes: serializeManifest(manifest) });
  const pack = format === 'brotli' ? createTarBr : createTarGz;
  return { name, version, bytes: pack(files, Date.parse(manifest.buildTime) / 1000), format, manifest };
}

/** Writes the artifact under dir with the name `ferry build` gives it; returns the path. */
export async function writeArtifact(dir: string, rel: PackedRelease): Promise<string> {
  const path = join(dir, artifactName(rel.name, rel.version, rel.format));
  await writeFile(path, rel.bytes);
  return path;
}

/**
 * The tiny app for deploy timings: one ESM file answering /healthz and /version (from the release's
 * manifest) that drains keep-alive connections on SIGTERM — the agent tests' fixture app.
 */
export function tinyAppFiles(extra: BundledFile[] = []): BundledFile[] {
  return [
    { path: 'index.js', bytes: Buffer.from(fakeAppSource('ok')) },
    { path: 'package.json', bytes: Buffer.from('{"type":"module"}\n') },
    ...extra,
  ];
}
