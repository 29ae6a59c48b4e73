// Unpacks a release artifact without trusting it. A release holds regular files and directories only,
// so every other entry type is refused rather than skipped, as are paths that are absolute or climb out
// with "..". The caller names the compression (brotli or gzip, from the signed manifest's artifact.file):
// it is never guessed from the bytes. Decompressed bytes are counted before tar sees them: a bomb stops at
// the cap, however its bytes are spent (file bodies, padding, headers), and a gzip stream inside the
// first is refused rather than handed to tar, which would unpack it past the count. Files are
// written with O_EXCL into a fresh staging directory, so a duplicate entry cannot overwrite one already
// checked.

import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import type { ArtifactFormat } from '../../release/layout';
import { isSafeRelativePath } from '../../release/manifest';
import { AgentError } from '../errors';

export interface UnpackLimits {
  /** How the archive is compressed: from the signed manifest (artifact.file), never from the bytes. */
  format: ArtifactFormat;
  /** Total decompressed bytes allowed (tar headers and padding included). */
  maxBytes: number;
  maxEntries?: number;
  /**
   * Test-only (FERRY_AGENT_FAIL_WRITE_AFTER_BYTES): file writes fail with a real ENOSPC error once this
   * many bytes were written, where a size-limited filesystem cannot be mounted.
   */
  failWriteAfterBytes?: number;
  /** Called each time a file is completely written, with the count so far. */
  onFileWritten?: (files: number) => void;
}

export interface UnpackResult {
  files: string[];
  bytes: number;
  /** Size and sha256 of each file, hashed from the bytes as they were written: no second read. */
  digests: Map<string, { size: number; sha256: string }>;
}

/** Strips a leading "./" and a directory's trailing "/"; null for the archive root itself. */
function normalizeEntryPath(p: string): string | null {
  let s = p;
  while (s.startsWith('./')) s = s.slice(2);
  if (s.endsWith('/')) s = s.replace(/\/+$/, '');
  return s === '' || s === '.' ? null : s;
}

function unsafe(message: string): AgentError {
  return new AgentError('unsafe_archive', `artifact refused: ${message}`, {
    step: 'unpack',
    remedy: 'a release holds only regular files and directories; rebuild it with `ferry build`',
  });
}

export async function unpackArtifact(
  archive: string,
  dest: string,
  limits: UnpackLimits,
): Promise<UnpackResult> {
  await mkdir(dest, { recursive: false });
  const maxEntries = limits.maxEntries ?? 100_000;
  const files: string[] = [];
  const digests: UnpackResult['digests'] = new Map();
  const writes: Promise<void>[] = [];
  const open = new Set<WriteStream>();
  let failure: Error | undefined;
  let entries = 0;
  const budget = limits.failWriteAfterBytes === undefined ? null : { left: limits.failWriteAfterBytes };
  const fail = (err: Error) => {
    failure ??= err;
  };

  // strict: a bad checksum or malformed header is an error, not a warning to step over. zstd: false stops
  // tar sniffing a zstd stream; gzip it always sniffs, so the first bytes are checked below.
  const parser = new Parser({ strict: true, zstd: false });
  parser.on('error', (err: Error) => fail(unsafe(`not a valid tar archive (${err.message})`)));
  parser.on('ignoredEntry', (entry: ReadEntry) =>
    fail(unsafe(`unsupported entry type ${entry.type} at ${entry.path}`)),
  );
  parser.on('entry', (entry: ReadEntry) => {
    if (failure) return void entry.resume();
    const problem = checkEntry(entry, ++entries, maxEntries);
    if (problem) {
      fail(unsafe(problem));
      return void entry.resume();
    }
    const rel = normalizeEntryPath(entry.path);
    if (rel === null) return void entry.resume();
    const target = join(dest, rel);
    if (entry.type === 'Directory') {
      entry.resume();
      writes.push(mkdir(target, { recursive: true, mode: 0o755 }).then(() => undefined));
      return;
    }
    files.push(rel);
    writes.push(
      writeEntry(entry, target, open, () => failure !== undefined, budget)
        .then((d) => {
          if (!d) return;
          digests.set(rel, d);
          limits.onFileWritten?.(digests.size);
        })
        .catch((err: Error) => fail(err)),
    );
  });

  const source = createReadStream(archive);
  const decompress = limits.format === 'brotli' ? createBrotliDecompress() : createGunzip();
  source.pipe(decompress);
  source.on('error', (err) => decompress.destroy(err));
  let bytes = 0;
  // The first 2 decompressed bytes, however they are chunked: gzip's magic there is a gzip stream that
  // tar's parser would follow on its own.
  let head = Buffer.alloc(0);
  try {
    for await (const chunk of decompress) {
      if (head.length < 2) {
        head = Buffer.concat([head, (chunk as Buffer).subarray(0, 2 - head.length)]);
        if (head[0] === 0x1f && head[1] === 0x8b) {
          throw unsafe(`a compressed stream inside the ${limits.format} stream (a release is one tar)`);
        }
      }
      bytes += (chunk as Buffer).length;
      if (bytes > limits.maxBytes) {
        throw new AgentError(
          'archive_too_large',
          `artifact refused: unpacks to more than ${limits.maxBytes} bytes (decompression bomb or wrong artifact)`,
          {
            step: 'unpack',
            remedy: 'raise maxUnpackedBytes in service.json if the release really is this big',
          },
        );
      }
      if (failure) break;
      if (!parser.write(chunk as Buffer)) await once(parser, 'drain');
    }
  } catch (err) {
    source.destroy();
    decompress.destroy();
    if (err instanceof AgentError) throw err;
    throw unsafe(`not a ${limits.format} archive (${(err as Error).message})`);
  }
  if (!failure) {
    const ended = once(parser, 'end');
    parser.end();
    await ended;
  }
  source.destroy();
  // After a refusal the parser is no longer fed, so entries in flight would never end: cut them off.
  if (failure) for (const out of open) out.destroy();
  await Promise.allSettled(writes);
  if (failure) throw failure;
  return { files, bytes, digests };
}

function checkEntry(entry: ReadEntry, count: number, maxEntries: number): string | null {
  if (count > maxEntries) return `more than ${maxEntries} entries`;
  const raw = entry.path;
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) return `absolute path ${raw}`;
  if (raw.split('/').includes('..')) return `path climbs out with "..": ${raw}`;
  const rel = normalizeEntryPath(raw);
  if (rel !== null && !isSafeRelativePath(rel)) return `unsafe path ${JSON.stringify(raw)}`;
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
    case 'Directory':
      return null;
    case 'SymbolicLink':
      return `symlink ${raw} -> ${entry.linkpath ?? '?'} (a release holds no links)`;
    case 'Link':
      return `hardlink ${raw} -> ${entry.linkpath ?? '?'} (a release holds no links)`;
    case 'CharacterDevice':
    case 'BlockDevice':
      return `device file ${raw}`;
    case 'FIFO':
      return `FIFO ${raw}`;
    default:
      return `unsupported entry type ${entry.type} at ${raw}`;
  }
}

async function writeEntry(
  entry: ReadEntry,
  target: string,
  open: Set<WriteStream>,
  failed: () => boolean,
  budget: { left: number } | null = null,
): Promise<{ size: number; sha256: string } | undefined> {
  await mkdir(dirname(target), { recursive: true, mode: 0o755 });
  if (failed()) return void entry.resume();
  const hash = createHash('sha256');
  let size = 0;
  // Hashed in the pipe, between the entry and the file, so the digest is of exactly what was written.
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  // wx: refuse to replace anything, so "app/x" appearing twice is caught, not silently last-wins.
  const out = createWriteStream(target, { flags: 'wx', mode: 0o600 });
  open.add(out);
  out.once('close', () => open.delete(out));
  const done = new Promise<void>((resolve, reject) => {
    out.once('close', resolve);
    out.once('error', reject);
  });
  hasher.on('error', (err) => out.destroy(err));
  if (budget) entry.pipe(hasher).pipe(diskFullAfter(budget, out)).pipe(out);
  else entry.pipe(hasher).pipe(out);
  try {
    await done;
  } catch (err) {
    entry.resume();
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw unsafe(`duplicate entry ${entry.path}`);
    throw err;
  }
  return { size, sha256: hash.digest('hex') };
}

/** The test hook's meter: passes bytes through until the budget is spent, then fails `out` with ENOSPC. */
function diskFullAfter(budget: { left: number }, out: WriteStream): Transform {
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      budget.left -= chunk.length;
      if (budget.left >= 0) return done(null, chunk);
      const err = Object.assign(new Error('ENOSPC: no space left on device, write'), {
        code: 'ENOSPC',
        errno: -28,
        syscall: 'write',
      });
      done(err);
    },
  });
  meter.on('error', (err) => out.destroy(err));
  return meter;
}
