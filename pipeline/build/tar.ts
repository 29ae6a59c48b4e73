// A deterministic tar writer, compressed with brotli (release artifacts) or gzip (runtimes, source maps).
// We write the ustar headers ourselves because every byte must depend only on the files: sorted entries,
// one fixed mtime, uid/gid 0 without user/group names, fixed modes; a gzip header with no timestamp and a
// fixed OS byte; every brotli parameter pinned. Two builds of the same commit then hash the same.
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export interface TarFile {
  /** Relative POSIX path, no leading slash. */
  path: string;
  bytes: Buffer;
  executable?: boolean;
}

const BLOCK = 512;
/** GNU tar pads archives to 20 blocks; matching it keeps every reader happy. */
const RECORD = BLOCK * 20;

/**
 * The release artifact's brotli quality, chosen by measurement (bench/parts/artifact.ts, docs/performance.md):
 * q9 packs the service to 0.79x gzip -9 in about 0.5 s; q10 gets 0.72x but takes ~10x as long at every
 * publish, and decompression costs the same at every level.
 */
export const ARTIFACT_BROTLI_QUALITY = 9;

/** Builds the tar (directories implied by the paths are added), then brotli-compresses it reproducibly. */
export function createTarBr(files: readonly TarFile[], mtimeSeconds: number): Buffer {
  return brotliDeterministic(createTar(files, mtimeSeconds));
}

/** Builds the tar, then gzips it reproducibly (how artifacts were packed before brotli). */
export function createTarGz(files: readonly TarFile[], mtimeSeconds: number): Buffer {
  return gzipDeterministic(createTar(files, mtimeSeconds));
}

export function createTar(files: readonly TarFile[], mtimeSeconds: number): Buffer {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(`${parts.slice(0, i).join('/')}/`);
  }
  const entries: { path: string; file?: TarFile }[] = [
    ...[...dirs].map((path) => ({ path })),
    ...files.map((file) => ({ path: file.path, file })),
  ];
  // Byte order, not locale order: the same on every machine. A directory sorts before its contents
  // because "app/" is a prefix of "app/x".
  entries.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));

  const chunks: Buffer[] = [];
  for (const e of entries) {
    if (e.file) {
      chunks.push(header(e.path, e.file.executable ? 0o755 : 0o644, e.file.bytes.length, mtimeSeconds, '0'));
      chunks.push(e.file.bytes, Buffer.alloc(padding(e.file.bytes.length)));
    } else {
      chunks.push(header(e.path, 0o755, 0, mtimeSeconds, '5'));
    }
  }
  chunks.push(Buffer.alloc(BLOCK * 2));
  const size = chunks.reduce((n, c) => n + c.length, 0);
  chunks.push(Buffer.alloc((RECORD - (size % RECORD)) % RECORD));
  return Buffer.concat(chunks);
}

/**
 * zlib already writes MTIME 0; the OS byte depends on how zlib was built, so it is pinned to 3 (Unix).
 * The header is not covered by the gzip CRC, so patching it is safe.
 */
export function gzipDeterministic(data: Buffer): Buffer {
  return pinGzipHeader(gzipSync(data, { level: 9 }));
}

/**
 * Every parameter the output depends on is set, so a change of the library's defaults cannot change the
 * bytes. A brotli stream has no header fields to pin: it depends on the input, these and the encoder's
 * version (1.1.0 in Node 20 and 22, 1.2.1 in Node 24, which give the same bytes here; tar.test.ts checks).
 */
export function brotliParams(quality: number = ARTIFACT_BROTLI_QUALITY): Record<number, number> {
  return {
    [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_GENERIC,
    [constants.BROTLI_PARAM_QUALITY]: quality,
    // 4 MiB window (the default): a larger one saved 14 bytes on the service and costs hosts memory.
    [constants.BROTLI_PARAM_LGWIN]: 22,
    [constants.BROTLI_PARAM_LGBLOCK]: 0,
    [constants.BROTLI_PARAM_DISABLE_LITERAL_CONTEXT_MODELING]: 0,
    [constants.BROTLI_PARAM_LARGE_WINDOW]: 0,
  };
}

export function brotliDeterministic(data: Buffer, quality: number = ARTIFACT_BROTLI_QUALITY): Buffer {
  return brotliCompressSync(data, { params: brotliParams(quality) });
}

/** Zeroes MTIME and pins the OS byte of a gzip member made by zlib (see gzipDeterministic). */
export function pinGzipHeader(gz: Buffer): Buffer {
  gz.writeUInt32LE(0, 4);
  gz[9] = 3;
  return gz;
}

function header(path: string, mode: number, size: number, mtime: number, type: '0' | '5'): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { name, prefix } = splitPath(path);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  h.write(type, 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  // uname/gname stay empty: no build-machine user names in the artifact.
  h.write(prefix, 345, 155, 'utf8');
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

function octal(buf: Buffer, offset: number, width: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 8 ** (width - 1)) {
    throw new Error(`tar: value ${value} does not fit a ${width}-byte field`);
  }
  buf.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

/** ustar stores long paths as prefix + "/" + name (155 + 100 bytes). */
function splitPath(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  const trailing = path.endsWith('/') ? '/' : '';
  const parts = path.slice(0, path.length - trailing.length).split('/');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    const name = parts.slice(i).join('/') + trailing;
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new Error(`tar: path too long for ustar: ${path}`);
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}
