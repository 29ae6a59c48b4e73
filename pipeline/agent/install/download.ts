// Downloads with retries. node:http rather than fetch: fetch silently un-gzips a body served with
// Content-Encoding: gzip, and the sha256 we check is over the bytes as published. file:// URLs (the local
// registry) are read from disk. Nothing here logs a URL's query: presigned URLs carry credentials there.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { isDiskFull } from '../errors';
import { sleep } from '../host/proc';
import { redactUrl } from '../output';

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  /** Abort an attempt when no byte arrives for this long (covers slow starts and stalls alike). */
  stallTimeoutMs?: number;
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

const DEFAULTS = { attempts: 5, baseDelayMs: 250, stallTimeoutMs: 30_000 };

class Retryable extends Error {}

class NotFound extends Error {}

/** Opens a byte stream for the URL; throws Retryable for 5xx, 429, resets and timeouts. */
function openStream(url: string, stallTimeoutMs: number): Promise<{ body: Readable; length: number | null }> {
  const u = new URL(url);
  if (u.protocol === 'file:') {
    return new Promise((resolve, reject) => {
      const body = createReadStream(fileURLToPath(u));
      body.once('error', (err) =>
        reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new NotFound(redactUrl(url)) : err),
      );
      body.once('open', () => resolve({ body, length: null }));
    });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return Promise.reject(
      new Error(`unsupported URL scheme ${u.protocol} (use https://, http:// or file://)`),
    );
  }
  const get = u.protocol === 'https:' ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const req = get(
      u,
      { headers: { 'accept-encoding': 'identity' }, timeout: stallTimeoutMs },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          const len = Number(res.headers['content-length']);
          resolve({ body: res, length: Number.isSafeInteger(len) ? len : null });
          return;
        }
        res.resume();
        if (status === 404) reject(new NotFound(`${redactUrl(url)} answered 404`));
        else if (status >= 500 || status === 429 || status === 408) reject(new Retryable(`HTTP ${status}`));
        else {
          const hint =
            status === 403 ? ' (a presigned URL may have expired: rerun the deploy for fresh URLs)' : '';
          reject(new Error(`${redactUrl(url)} answered HTTP ${status}${hint}`));
        }
      },
    );
    req.on('timeout', () => req.destroy(new Retryable(`no response within ${stallTimeoutMs} ms`)));
    req.on('error', (err) => reject(err instanceof Retryable ? err : new Retryable(err.message)));
  });
}

async function withRetries<T>(
  url: string,
  opts: RetryOptions,
  fn: (stallMs: number) => Promise<T>,
): Promise<T> {
  const attempts = opts.attempts ?? DEFAULTS.attempts;
  const base = opts.baseDelayMs ?? DEFAULTS.baseDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(opts.stallTimeoutMs ?? DEFAULTS.stallTimeoutMs);
    } catch (err) {
      if (!(err instanceof Retryable) || attempt >= attempts) {
        if (err instanceof Retryable) {
          throw new Error(`${redactUrl(url)}: ${err.message} (gave up after ${attempt} attempts)`);
        }
        throw err;
      }
      const delayMs = Math.round(base * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5));
      opts.onRetry?.({ attempt, delayMs, reason: err.message });
      await sleep(delayMs);
    }
  }
}

/** Reads a body, aborting past maxBytes; a body that breaks off mid-way is Retryable. */
async function consume(
  body: Readable,
  stallMs: number,
  maxBytes: number,
  onChunk: (chunk: Buffer) => Promise<void> | void,
): Promise<number> {
  let total = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => body.destroy(new Retryable(`stalled: no data for ${stallMs} ms`)), stallMs);
  };
  arm();
  try {
    for await (const chunk of body) {
      arm();
      total += (chunk as Buffer).length;
      if (total > maxBytes) throw new Error(`body is larger than the ${maxBytes} bytes expected`);
      await onChunk(chunk as Buffer);
    }
  } catch (err) {
    body.destroy();
    if (err instanceof Retryable || (err as Error).message.startsWith('body is larger')) throw err;
    // Our own write failing on a full disk: downloading again cannot help.
    if (isDiskFull(err)) throw err;
    throw new Retryable((err as Error).message || 'connection reset');
  } finally {
    clearTimeout(timer);
  }
  // http: a response cut short without an error still must have its declared length.
  if ('complete' in body && (body as IncomingMessage).complete === false)
    throw new Retryable('response cut short');
  return total;
}

/** A small document (manifest, signature) into memory. null when absent and `allowMissing`. */
export async function fetchSmall(
  url: string,
  opts: RetryOptions & { maxBytes?: number; allowMissing?: boolean } = {},
): Promise<Buffer | null> {
  try {
    return await withRetries(url, opts, async (stallMs) => {
      const { body } = await openStream(url, stallMs);
      const chunks: Buffer[] = [];
      await consume(body, stallMs, opts.maxBytes ?? 1024 * 1024, (c) => {
        chunks.push(c);
      });
      return Buffer.concat(chunks);
    });
  } catch (err) {
    if (err instanceof NotFound && opts.allowMissing) return null;
    throw err;
  }
}

/** Streams a URL to a file, hashing as it goes; each attempt starts the file over. */
export async function downloadToFile(
  url: string,
  dest: string,
  opts: RetryOptions & { maxBytes: number; onWritten?: (bytes: number) => void },
): Promise<{ size: number; sha256: string }> {
  return withRetries(url, opts, async (stallMs) => {
    const { body } = await openStream(url, stallMs);
    const hash = createHash('sha256');
    const fh = await open(dest, 'w', 0o600);
    try {
      let written = 0;
      const size = await consume(body, stallMs, opts.maxBytes, async (c) => {
        hash.update(c);
        await fh.write(c);
        written += c.length;
        opts.onWritten?.(written);
      });
      await fh.sync();
      return { size, sha256: hash.digest('hex') };
    } finally {
      await fh.close();
    }
  });
}
