// The registry in an OSS bucket, through ali-oss. CI writes through the public endpoint; hosts read through
// presigned URLs on the internal endpoint and never hold credentials. ali-oss neither retries a 5xx nor
// checks what it downloads, so every call here goes through withRetry and every read is checked against
// the length and x-oss-hash-crc64ecma the server sent.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type OSS from 'ali-oss';
import type { OssRegistryConfig } from '../config/resolve';
import { aliOssStsOptions, applyCredentials, primeStsRefresh } from '../credentials/ali-oss';
import type { CredentialsProvider } from '../credentials/types';
import { FerryError } from '../errors';
import { Crc64, crc64, crc64File } from './crc64';
import { codeOf, explain, isAlreadyExists, isNotFound, type OssCredentials } from './oss-errors';
import {
  AlreadyExistsError,
  checkKey,
  DEFAULT_MULTIPART_THRESHOLD,
  DEFAULT_PART_SIZE,
  type ObjectInfo,
  type PresignOptions,
  type PutFileOptions,
  type PutOptions,
  type Registry,
} from './registry';
import { type RetryOptions, TransientError, withRetry } from './retry';

export { OSS_ENV, type OssCredentials, ossCredentialsFromEnv } from './oss-errors';

type Headers = Record<string, string | undefined>;
interface Res {
  status: number;
  headers: Headers;
}
/** The slice of ali-oss we use, typed here (its typings lack some of it). */
interface OssClient {
  get(key: string): Promise<{ content: Buffer; res: Res }>;
  getStream(key: string): Promise<{ stream: NodeJS.ReadableStream; res: Res }>;
  head(key: string): Promise<{ res: Res }>;
  put(key: string, body: Buffer, opts: { headers: Headers; mime?: string }): Promise<{ res: Res }>;
  list(
    query: { prefix: string; marker?: string; 'max-keys': number },
    opts: object,
  ): Promise<{
    objects?: { name: string; size: number; lastModified: string }[];
    nextMarker?: string;
    isTruncated: boolean;
  }>;
  delete(key: string): Promise<unknown>;
  initMultipartUpload(key: string, opts: { headers: Headers; mime?: string }): Promise<{ uploadId: string }>;
  uploadPart(
    key: string,
    uploadId: string,
    partNo: number,
    file: string,
    start: number,
    end: number,
  ): Promise<{ etag: string }>;
  completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: { number: number; etag: string }[],
    opts: { headers: Headers },
  ): Promise<{ res: Res }>;
  abortMultipartUpload(key: string, uploadId: string): Promise<unknown>;
  signatureUrl(key: string, opts: { expires: number; method: 'GET' }): string;
}

export interface OssRegistryOptions {
  retry?: RetryOptions;
  /** Per-request timeout, ms. Default 120 s (large parts on slow CI links). */
  timeoutMs?: number;
  /** Parallel part uploads. Default 3. */
  partConcurrency?: number;
}

export class OssRegistry implements Registry {
  readonly description: string;
  private readonly client: OssClient;
  private readonly internal: OssClient;
  private readonly retry: RetryOptions;
  private readonly partConcurrency: number;

  /** Set when credentials come from a provider (OSS_RAM_ROLE): STS credentials that rotate. */
  private readonly provider: CredentialsProvider | null;

  constructor(
    config: OssRegistryConfig,
    creds: OssCredentials | CredentialsProvider,
    opts: OssRegistryOptions = {},
  ) {
    this.description = `oss://${config.bucket}/${config.prefix} (${config.endpoint})`;
    this.provider = typeof creds === 'function' ? creds : null;
    const credentialOptions: Pick<
      OSS.Options,
      'accessKeyId' | 'accessKeySecret' | 'stsToken' | 'refreshSTSToken' | 'refreshSTSTokenInterval'
    > =
      typeof creds === 'function'
        ? aliOssStsOptions(creds)
        : {
            accessKeyId: creds.accessKeyId,
            accessKeySecret: creds.accessKeySecret,
            ...(creds.securityToken ? { stsToken: creds.securityToken } : {}),
          };
    // Required here, not imported at the top: ali-oss takes ~0.1 s to load, which every `ferry` command
    // would pay for through the registry modules, even on a local registry.
    const Client = createRequire(import.meta.url)('ali-oss') as typeof OSS;
    const make = (endpoint: string) =>
      new Client(<OSS.Options>{
        region: config.region,
        bucket: config.bucket,
        ...credentialOptions,
        endpoint,
        cname: config.cname,
        secure: endpoint.startsWith('https:'),
        timeout: opts.timeoutMs ?? 120_000,
        // Retries are ours (withRetry): ali-oss's own would double them and skip 5xx anyway.
        retryMax: 0,
      }) as unknown as OssClient;
    this.client = make(config.endpoint);
    this.internal = make(config.internalEndpoint);
    if (this.provider) for (const c of [this.client, this.internal]) primeStsRefresh(c);
    this.retry = opts.retry ?? {};
    this.partConcurrency = opts.partConcurrency ?? 3;
  }

  async get(key: string): Promise<Buffer | null> {
    checkKey(key);
    return this.call(`GET ${key}`, async () => {
      try {
        const r = await this.client.get(key);
        verifyBody(key, r.content, r.res.headers);
        return r.content;
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    });
  }

  async head(key: string): Promise<{ size: number; etag: string; crc64?: string } | null> {
    checkKey(key);
    return this.call(`HEAD ${key}`, async () => {
      try {
        const { res } = await this.client.head(key);
        const crc = res.headers['x-oss-hash-crc64ecma'];
        return {
          size: Number(res.headers['content-length'] ?? 0),
          etag: String(res.headers.etag ?? ''),
          ...(crc ? { crc64: String(crc) } : {}),
        };
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    });
  }

  async put(key: string, body: Buffer, opts: PutOptions = {}): Promise<void> {
    checkKey(key);
    const headers: Headers = opts.forbidOverwrite ? { 'x-oss-forbid-overwrite': 'true' } : {};
    await this.call(`PUT ${key}`, async (attempt) => {
      try {
        const { res } = await this.client.put(key, body, { headers, mime: opts.contentType });
        await this.checkStored(key, res.headers, crc64(body));
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        // An earlier attempt may have landed before its response was lost: that is our own write.
        if (attempt > 1 && (await this.get(key))?.equals(body)) return;
        throw new AlreadyExistsError(key);
      }
    });
  }

  async putFile(key: string, path: string, opts: PutFileOptions = {}): Promise<void> {
    checkKey(key);
    const { size } = await stat(path);
    if (size <= (opts.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD)) {
      opts.onProgress?.(0, size);
      await this.put(key, await readFile(path), opts);
      opts.onProgress?.(size, size);
      return;
    }
    await this.multipart(key, path, size, opts);
  }

  private async multipart(key: string, path: string, size: number, opts: PutFileOptions): Promise<void> {
    const headers: Headers = opts.forbidOverwrite ? { 'x-oss-forbid-overwrite': 'true' } : {};
    const partSize = Math.max(100 * 1024, opts.partSize ?? DEFAULT_PART_SIZE);
    const expectedCrc = await crc64File(path);
    const { uploadId } = await this.call(`initiate multipart ${key}`, async () => {
      try {
        return await this.client.initMultipartUpload(key, { headers, mime: opts.contentType });
      } catch (err) {
        throw isAlreadyExists(err) ? new AlreadyExistsError(key) : err;
      }
    });
    const ranges = Array.from({ length: Math.ceil(size / partSize) }, (_, i) => ({
      number: i + 1,
      start: i * partSize,
      end: Math.min(size, (i + 1) * partSize),
    }));
    let sent = 0;
    opts.onProgress?.(0, size);
    try {
      const parts = await mapLimit(ranges, this.partConcurrency, async (r) => {
        // Each part retries on its own: a flaky link costs one part, not the whole upload.
        const { etag } = await this.call(`upload part ${r.number} of ${key}`, () =>
          this.client.uploadPart(key, uploadId, r.number, path, r.start, r.end),
        );
        sent += r.end - r.start;
        opts.onProgress?.(sent, size);
        return { number: r.number, etag };
      });
      await this.call(`complete multipart ${key}`, async (attempt) => {
        try {
          const { res } = await this.client.completeMultipartUpload(key, uploadId, parts, { headers });
          await this.checkStored(key, res.headers, expectedCrc);
        } catch (err) {
          if (isAlreadyExists(err)) throw new AlreadyExistsError(key);
          // A retried complete whose first try succeeded finds the upload gone; the object tells.
          if (attempt > 1 && codeOf(err) === 'NoSuchUpload' && (await this.head(key))?.size === size) return;
          throw err;
        }
      });
    } catch (err) {
      await this.client.abortMultipartUpload(key, uploadId).catch(() => undefined);
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let marker: string | undefined;
    do {
      const page = await this.call(`LIST ${prefix}`, () =>
        this.client.list({ prefix, 'max-keys': 1000, ...(marker ? { marker } : {}) }, {}),
      );
      for (const o of page.objects ?? []) {
        out.push({ key: o.name, size: Number(o.size), lastModified: new Date(o.lastModified).toISOString() });
      }
      marker = page.isTruncated ? page.nextMarker : undefined;
    } while (marker);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.call(`DELETE ${key}`, () => this.client.delete(key));
  }

  async download(key: string, destPath: string): Promise<void> {
    checkKey(key);
    await mkdir(dirname(destPath), { recursive: true });
    await this.call(`download ${key}`, async () => {
      const tmp = `${destPath}.${randomBytes(4).toString('hex')}.part`;
      try {
        let r: Awaited<ReturnType<OssClient['getStream']>>;
        try {
          r = await this.client.getStream(key);
        } catch (err) {
          if (isNotFound(err)) throw new FerryError(`${key} is not in the registry (${this.description})`);
          throw err;
        }
        const crc = new Crc64();
        let length = 0;
        const tap = new Transform({
          transform(chunk: Buffer, _enc, done) {
            crc.update(chunk);
            length += chunk.length;
            done(null, chunk);
          },
        });
        await pipeline(r.stream, tap, createWriteStream(tmp));
        checkDigest(key, length, crc.digest(), r.res.headers);
        await rename(tmp, destPath);
      } finally {
        await rm(tmp, { force: true });
      }
    });
  }

  async presign(key: string, opts: PresignOptions): Promise<string> {
    checkKey(key);
    const client = (opts.endpoint ?? 'internal') === 'internal' ? this.internal : this.client;
    if (this.provider) await applyCredentials(client, this.provider);
    return client.signatureUrl(key, { expires: opts.expiresSeconds, method: 'GET' });
  }

  /** The server's CRC of what it stored must equal ours; a mismatch means corruption on the way up. */
  private async checkStored(key: string, headers: Headers, expected: string): Promise<void> {
    const got = headers['x-oss-hash-crc64ecma'];
    if (got !== undefined && got !== expected) {
      await this.client.delete(key).catch(() => undefined);
      throw new TransientError(
        `upload of ${key} was corrupted in transit (CRC64 ${got}, expected ${expected})`,
      );
    }
  }

  private call<T>(what: string, fn: (attempt: number) => Promise<T>): Promise<T> {
    return withRetry(fn, this.retry).catch((err: unknown) => {
      throw explain(what, err, this.description);
    });
  }
}

function verifyBody(key: string, body: Buffer, headers: Headers): void {
  checkDigest(key, body.length, crc64(body), headers);
}

function checkDigest(key: string, length: number, crc: string, headers: Headers): void {
  const expectedLength = headers['content-length'];
  if (expectedLength !== undefined && Number(expectedLength) !== length) {
    throw new TransientError(`download of ${key} is truncated (${length} of ${expectedLength} bytes)`);
  }
  const expectedCrc = headers['x-oss-hash-crc64ecma'];
  if (expectedCrc !== undefined && expectedCrc !== crc) {
    throw new TransientError(`download of ${key} is corrupted (CRC64 ${crc}, expected ${expectedCrc})`);
  }
}

/** Runs `fn` over items with at most `limit` in flight, keeping result order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return results;
}
