// The source map publish uploads beside the artifact: the file `ferry build` wrote, checked against the
// size and sha256 the artifact's manifest gives it, and scanned for credentials like every other file.
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sha256 } from '../build/hash';
import { FerryError, VerificationError } from '../errors';
import { sourceMapName } from '../release/layout';
import type { ReleaseManifest } from '../release/manifest';
import { assertNoCredentials } from '../scan/check';

/**
 * The source map the manifest names, checked against its size and sha256 there. `from` is the map itself
 * or the artifact it was built beside.
 */
export async function readSourceMap(manifest: ReleaseManifest, from: string): Promise<Buffer | null> {
  const ref = manifest.sourceMap;
  if (!ref) return null;
  const path = from.endsWith('.map.gz') ? from : join(dirname(from), ref.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new FerryError(`the source map ${path} is missing`, {
      remedy: `\`ferry build\` writes ${ref.file} beside the artifact; publish both from the same folder (or rebuild)`,
    });
  }
  if (bytes.length !== ref.size || sha256(bytes) !== ref.sha256) {
    throw new VerificationError(`${path} is not the source map this artifact was built with`, {
      remedy: 'rebuild with `ferry build` and publish the artifact and map it writes',
    });
  }
  if (ref.file !== sourceMapName(manifest.name, manifest.version)) {
    throw new VerificationError(
      `the manifest names its source map ${ref.file}, not ${sourceMapName(manifest.name, manifest.version)}`,
    );
  }
  assertNoCredentials([{ path: ref.file.replace(/\.gz$/, ''), bytes: gunzipSync(bytes) }], basename(path));
  return bytes;
}
