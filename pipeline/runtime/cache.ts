// The runtime cache under .ferry/cache/runtimes (or $FERRY_CACHE_DIR/runtimes): downloaded tarballs named
// by the digest their source vouches for, and packed runtimes named by the digest of their input. Both
// are content-keyed, so an entry is either right or detectably wrong (it is re-hashed before use), and a
// second publish on the same runtime neither downloads nor packs.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { VerificationError } from '../errors';
import type { RuntimeArch } from '../release/manifest';
import { download } from './http';
import { PACK_FORMAT } from './pack';

export function runtimeCacheDir(projectRoot: string, env: Record<string, string | undefined>): string {
  return join(env.FERRY_CACHE_DIR || join(projectRoot, '.ferry', 'cache'), 'runtimes');
}

/** A digest as npm writes it (sha512-<base64>) or as we key files: algorithm + hex. */
export interface Digest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

export function digestKey(d: Digest): string {
  return `${d.algorithm}-${d.hex}`;
}

export async function hashFile(path: string, algorithm: Digest['algorithm']): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The file at `url`, downloaded once into the cache and checked against `expect` (which the source got
 * from its checksum file or packument) before it is returned. A cached copy that no longer matches is
 * thrown away and fetched again.
 */
export async function cachedDownload(
  cacheDir: string,
  url: string,
  expect: Digest,
  ext: string,
  onStep: (m: string) => void,
): Promise<string> {
  const path = join(cacheDir, 'downloads', `${digestKey(expect)}${ext}`);
  const cached = await hashFile(path, expect.algorithm).catch(() => null);
  if (cached === expect.hex) return path;
  await rm(path, { force: true });
  onStep(`downloading ${url}`);
  const got = await download(url, path);
  if (got[expect.algorithm] !== expect.hex) {
    await rm(path, { force: true });
    throw new VerificationError(
      `${url} does not match its published ${expect.algorithm} (expected ${expect.hex}, got ${got[expect.algorithm]})`,
      { remedy: 'the download or the mirror is corrupt; rerun, or use another mirror in app.runtime.from' },
    );
  }
  return path;
}

export interface PackedEntry {
  path: string;
  size: number;
  sha256: string;
  glibc: string | null;
}

function packedPath(cacheDir: string, inputKey: string, arch: RuntimeArch): string {
  return join(cacheDir, 'packed', `${inputKey}-linux-${arch}-p${PACK_FORMAT}.tar.gz`);
}

/** The packed runtime made earlier from the same input, if it is still intact. */
export async function readPacked(
  cacheDir: string,
  inputKey: string,
  arch: RuntimeArch,
): Promise<PackedEntry | null> {
  const path = packedPath(cacheDir, inputKey, arch);
  let meta: Omit<PackedEntry, 'path'>;
  try {
    meta = JSON.parse(await readFile(`${path}.json`, 'utf8')) as Omit<PackedEntry, 'path'>;
  } catch {
    return null;
  }
  const sha = await hashFile(path, 'sha256').catch(() => null);
  return sha === meta.sha256 ? { path, size: meta.size, sha256: meta.sha256, glibc: meta.glibc } : null;
}

export async function writePacked(
  cacheDir: string,
  inputKey: string,
  arch: RuntimeArch,
  gz: Buffer,
  meta: Omit<PackedEntry, 'path'>,
): Promise<PackedEntry> {
  const path = packedPath(cacheDir, inputKey, arch);
  await writeAtomic(path, gz);
  // The metadata goes last: a crash in between leaves a pack without metadata, which is ignored.
  await writeAtomic(`${path}.json`, Buffer.from(`${JSON.stringify(meta)}\n`));
  return { path, ...meta };
}

async function writeAtomic(path: string, bytes: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}
