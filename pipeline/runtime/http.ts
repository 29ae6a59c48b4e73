// The few HTTP reads a runtime source makes: a version list, a checksum file or packument, and one large
// tarball streamed to disk while it is hashed. Every URL comes from releases.yaml (or from the packument
// of the configured registry), so tests point all of it at 127.0.0.1.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { FerryError } from '../errors';

/** The server could not be reached at all (DNS, refused, timeout): the auto source may fall back. */
export class UnreachableError extends FerryError {
  override name = 'UnreachableError';
}

export interface HttpOptions {
  /** Max silence before giving up, ms. Default 30 s. */
  idleTimeoutMs?: number;
  headers?: Record<string, string>;
}

async function request(
  url: string,
  opts: HttpOptions,
): Promise<{ res: Response; touch: () => void; done: () => void }> {
  const idle = opts.idleTimeoutMs ?? 30_000;
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), idle);
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), idle);
  };
  const done = () => clearTimeout(timer);
  let res: Response;
  try {
    res = await fetch(url, { headers: opts.headers ?? {}, signal: controller.signal, redirect: 'follow' });
  } catch (err) {
    done();
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = controller.signal.aborted
      ? `no answer in ${idle / 1000} s`
      : (cause?.code ?? cause?.message ?? String(err));
    throw new UnreachableError(`cannot reach ${url} (${why})`, {
      remedy:
        'check the address in app.runtime.from and the network (in China, use a mirror: see docs/releases.md)',
      cause: err,
    });
  }
  touch();
  return { res, touch, done };
}

/** Body of a 200 answer; null on 404; a FerryError naming the URL otherwise. */
export async function getBytes(url: string, opts: HttpOptions = {}): Promise<Buffer | null> {
  const { res, done } = await request(url, opts);
  try {
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new FerryError(`GET ${url} answered ${res.status} ${res.statusText}`);
    }
    return Buffer.from(await res.arrayBuffer());
  } finally {
    done();
  }
}

export async function getJson(url: string, opts: HttpOptions = {}): Promise<unknown | null> {
  const bytes = await getBytes(url, opts);
  if (bytes === null) return null;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new FerryError(`${url} is not valid JSON`);
  }
}

/**
 * Streams `url` into `dest` (atomically: a temp file renamed into place) and returns the digests of
 * what arrived, so the caller checks them before anything uses the file.
 */
export async function download(
  url: string,
  dest: string,
  opts: HttpOptions = {},
): Promise<{ size: number; sha256: string; sha512: string }> {
  const { res, touch, done } = await request(url, { idleTimeoutMs: 60_000, ...opts });
  const tmp = `${dest}.${randomBytes(4).toString('hex')}.part`;
  try {
    if (!res.ok || res.body === null) {
      await res.body?.cancel();
      throw new FerryError(`GET ${url} answered ${res.status} ${res.statusText}`, {
        remedy: res.status === 404 ? 'check the version and the URL template in app.runtime.from' : undefined,
      });
    }
    await mkdir(dirname(dest), { recursive: true });
    const h256 = createHash('sha256');
    const h512 = createHash('sha512');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, next) {
        touch();
        h256.update(chunk);
        h512.update(chunk);
        size += chunk.length;
        next(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), tap, createWriteStream(tmp));
    await rename(tmp, dest);
    return { size, sha256: h256.digest('hex'), sha512: h512.digest('hex') };
  } catch (err) {
    if (err instanceof FerryError) throw err;
    // Not UnreachableError: the server answered, so falling back to another source would hide a fault.
    throw new FerryError(`download of ${url} failed: ${(err as Error).message}`, {
      remedy: 'rerun; a partial download is never used',
      cause: err,
    });
  } finally {
    done();
    await rm(tmp, { force: true });
  }
}
