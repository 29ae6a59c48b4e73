// Reads a release artifact (.tar.br, or .tar.gz from before brotli) back into memory: publish scans and
// checks an artifact it did not build itself, and tests look inside. The file's name says how it is
// compressed, as the signed manifest's does for hosts; the tar package's parser then reads any valid tar.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { Parser } from 'tar';
import { type ArtifactFormat, artifactFormat } from '../release/layout';
import { MANIFEST_FILE, parseManifest, type ReleaseManifest } from '../release/manifest';

export interface ArtifactEntry {
  path: string;
  type: 'file' | 'directory' | 'other';
  mode: number;
  mtime: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  bytes: Buffer;
}

export async function readArtifact(path: string): Promise<ArtifactEntry[]> {
  return readArtifactBytes(await readFile(path), formatOfPath(path));
}

/** The compression a local artifact's name says; throws for a name that is neither .tar.br nor .tar.gz. */
export function formatOfPath(path: string): ArtifactFormat {
  const format = artifactFormat(basename(path));
  if (format === null) {
    throw new Error(
      `${basename(path)} is neither a .tar.br nor a .tar.gz (ferry build writes <app>-<version>.tar.br)`,
    );
  }
  return format;
}

export function readArtifactBytes(bytes: Buffer, format: ArtifactFormat): Promise<ArtifactEntry[]> {
  let tar: Buffer;
  try {
    tar = format === 'brotli' ? brotliDecompressSync(bytes) : gunzipSync(bytes);
  } catch (err) {
    return Promise.reject(new Error(`not a ${format} archive (${(err as Error).message})`));
  }
  return new Promise((resolve, reject) => {
    const entries: ArtifactEntry[] = [];
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry) => {
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => {
          entries.push({
            path: entry.path.replace(/\/$/, ''),
            type: entry.type === 'File' ? 'file' : entry.type === 'Directory' ? 'directory' : 'other',
            mode: entry.mode ?? 0,
            mtime: entry.mtime ? Math.floor(entry.mtime.getTime() / 1000) : 0,
            uid: entry.uid ?? 0,
            gid: entry.gid ?? 0,
            uname: entry.uname ?? '',
            gname: entry.gname ?? '',
            bytes: Buffer.concat(chunks),
          });
        });
      },
    });
    parser.on('error', reject);
    parser.on('warn', (_code: string, message: string | Error) => reject(new Error(String(message))));
    parser.on('end', () => resolve(entries));
    parser.end(tar);
  });
}

/** The manifest.json at the artifact's root, parsed and shape-checked. */
export function innerManifest(entries: readonly ArtifactEntry[]): ReleaseManifest {
  const entry = entries.find((e) => e.path === MANIFEST_FILE && e.type === 'file');
  if (!entry) throw new Error(`the artifact has no ${MANIFEST_FILE} at its root`);
  return parseManifest(entry.bytes);
}
