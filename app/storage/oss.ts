import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import type OSS from 'ali-oss';
import { OssCatalog } from '../catalog/oss-catalog';
import type { CatalogOptions } from '../catalog/types';
import { StorageUnavailableError } from '../errors';
import { contentDisposition } from '../http/content-disposition';
import { isActiveContent } from './category';
import { FILES_PREFIX, objectKey, parseFileId } from './keys';
import { type CredentialsProvider, OssClientSource, type OssCredentials } from './oss-client';
import { DEFAULT_RETRY, isRetryable, type RetryOptions, withRetry } from './retry';
import { UploadTally } from './streams';
import type { ByteRange, FileRecord, PresignOptions, PutRequest, ReadResult, StorageBackend } from './types';

export type { CredentialsProvider, OssCredentials };

export interface OssStorageOptions {
  bucket: string;
  region?: string;
  /** Full URL (http://host:port); wins over region/internal. */
  endpoint?: string;
  internal?: boolean;
  cname?: boolean;
  secure?: boolean;
  credentials: OssCredentials | CredentialsProvider;
  /** Per-request timeout for everything but the upload itself. */
  timeoutMs?: number;
  retry?: RetryOptions;
  log?: { warn(obj: object, msg: string): void };
  onRetry?: (operation: string) => void;
  catalog?: Omit<CatalogOptions, 'log'>;
}

// The upload PUT streams the client's body, so it lasts as long as the client takes to send it.
const UPLOAD_TIMEOUT_MS = 3600_000;
const TMP_PREFIX = 'tmp/';

/**
 * OSS backend through ali-oss.
 *
 * Uploads: the sha256 is known only once the stream ends, and OSS metadata is fixed when an object
 * is created. So the body is streamed (chunked PUT, never buffered) to `tmp/{id}.{uuid}`, then
 * CopyObject puts it at its final key with `x-oss-metadata-directive: REPLACE` and the metadata
 * (name, sha256, size, created), and the temp object is deleted. We chose this over a multipart upload
 * because both need the final copy anyway (metadata is fixed at InitiateMultipartUpload), and a single
 * chunked PUT is one request per file instead of one per part. The copy is server-side and
 * limited to 1 GB per object, which config enforces on MAX_UPLOAD_BYTES. tmp/ is outside files/, so a
 * temp object never shows in listings; if the delete fails, a bucket lifecycle rule on tmp/ (expire
 * after 1 day) removes it, and init() also sweeps tmp/ objects older than a day.
 *
 * ali-oss retries only network errors and never 5xx, and never checks MD5/CRC64 on downloads:
 * idempotent calls (HEAD, GET before the body, copy, delete, list) go through withRetry, and
 * full-object downloads are checked against the stored sha256 by the route (DownloadGuard).
 */
export class OssStorage implements StorageBackend {
  readonly kind = 'oss' as const;
  readonly catalog: OssCatalog;
  private readonly clients: OssClientSource;
  private readonly retry: RetryOptions;
  private readonly timeoutMs: number;

  constructor(private readonly opts: OssStorageOptions) {
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.clients = new OssClientSource(opts, this.timeoutMs);
    this.catalog = new OssCatalog(
      { walk: (prefix) => this.listPages(prefix), stat: (userId, id) => this.stat(userId, id) },
      { minChargeBytes: 0, reconcileMs: 30_000, ...opts.catalog, log: opts.log },
    );
  }

  close(): void {
    this.catalog.close();
  }

  async init(): Promise<void> {
    await this.clients.get();
    // Best effort, in the background: a failed sweep must not block start.
    this.sweepTmp().catch((err) => this.opts.log?.warn({ err }, 'could not sweep old tmp/ objects'));
  }

  keyOf(userId: string, id: string): string {
    return objectKey(userId, id);
  }

  async put(req: PutRequest): Promise<FileRecord> {
    const key = objectKey(req.userId, req.id);
    const tmpKey = `${TMP_PREFIX}${req.id}.${randomUUID()}`;
    const client = await this.clients.get();
    const tally = new UploadTally(req.admit);
    // The body is fed by hand rather than piped: a refused or broken-off upload then *ends* the PUT
    // (a short temp object, deleted below) instead of erroring a request inside ali-oss/urllib,
    // which reports such aborts twice and prints warnings.
    const out = new PassThrough();
    const putFailed = new AbortController();
    let streamError: unknown = null;
    const feeding = (async () => {
      try {
        for await (const chunk of req.body as AsyncIterable<Buffer>) {
          tally.add(chunk);
          if (!out.write(chunk)) await once(out, 'drain', { signal: putFailed.signal });
        }
      } catch (err) {
        if (!putFailed.signal.aborted) streamError = err;
      } finally {
        if (!out.destroyed) out.end();
      }
    })();
    try {
      await client.putStream(tmpKey, out, {
        mime: req.contentType,
        timeout: UPLOAD_TIMEOUT_MS,
      } as unknown as OSS.PutStreamOptions);
    } catch (err) {
      putFailed.abort();
      req.body.destroy();
      await feeding;
      await this.deleteQuietly(tmpKey);
      if (streamError) throw streamError;
      throw new StorageUnavailableError('upload', err);
    }
    await feeding;
    if (streamError) {
      await this.deleteQuietly(tmpKey);
      throw streamError;
    }
    const record: FileRecord = {
      id: req.id,
      userId: req.userId,
      name: req.name,
      size: tally.bytes,
      contentType: req.contentType,
      category: req.category,
      sha256: tally.sha256,
      createdAt: req.createdAt.toISOString(),
    };
    try {
      await this.call('copy', (c) =>
        c.copy(key, tmpKey, {
          timeout: this.timeoutMs,
          meta: {
            name: encodeURIComponent(record.name),
            sha256: record.sha256,
            size: String(record.size),
            created: record.createdAt,
          },
          // The CDN and presigned URLs serve the object's own headers: a file that a browser would
          // render as a page (HTML, SVG…) is stored as an attachment, so it downloads instead.
          headers: {
            'Content-Type': record.contentType,
            ...(isActiveContent(record.contentType)
              ? { 'Content-Disposition': contentDisposition(record.name) }
              : {}),
          },
        } as unknown as OSS.CopyObjectOptions),
      );
    } finally {
      await this.deleteQuietly(tmpKey);
    }
    await this.catalog.added(record);
    return record;
  }

  async stat(userId: string, id: string): Promise<FileRecord | null> {
    const key = objectKey(userId, id);
    const res = await this.call('head', (c) => c.head(key, { timeout: this.timeoutMs }), true);
    return res && recordFromHeaders(userId, id, res.res.headers as Headers);
  }

  async read(userId: string, id: string, range?: ByteRange): Promise<ReadResult | null> {
    const key = objectKey(userId, id);
    const headers = range ? { Range: `bytes=${range.start}-${range.end}` } : undefined;
    const res = await this.call('get', (c) => c.getStream(key, { timeout: this.timeoutMs, headers }), true);
    if (!res) return null;
    const body = res.stream as Readable;
    const file = recordFromHeaders(userId, id, res.res.headers as Headers);
    // A range is only asked for after stat() checked it, so anything but 206 means the object changed.
    if (!file || (range && res.res.status !== 206)) {
      body.destroy();
      return null;
    }
    return { file, body };
  }

  async delete(userId: string, id: string): Promise<boolean> {
    const key = objectKey(userId, id);
    // OSS answers 204 whether or not the object existed; HEAD first so the API can say 404.
    const exists = await this.call('head', (c) => c.head(key, { timeout: this.timeoutMs }), true);
    if (!exists) return false;
    await this.call('delete', (c) => c.delete(key, { timeout: this.timeoutMs }));
    await this.catalog.removed(userId, id);
    return true;
  }

  async presign(userId: string, id: string, opts: PresignOptions): Promise<string> {
    const client = await this.clients.get();
    return client.signatureUrl(objectKey(userId, id), {
      expires: opts.expiresSeconds,
      response: { 'content-disposition': opts.contentDisposition },
    } as OSS.SignatureUrlOptions);
  }

  async check(): Promise<void> {
    await this.call('list', (c) => listV2(c, { prefix: FILES_PREFIX, 'max-keys': '1' }, this.timeoutMs));
  }

  /** ListObjectsV2 pages of up to 1000 keys, following continuation tokens. */
  private async *listPages(
    prefix: string,
  ): AsyncGenerator<{ name: string; size: number; lastModified: string }[]> {
    let token: string | undefined;
    do {
      const query: Record<string, string> = { prefix, 'max-keys': '1000' };
      if (token) query['continuation-token'] = token;
      const page = await this.call('list', (c) => listV2(c, query, this.timeoutMs));
      yield page.objects ?? [];
      token = page.isTruncated ? (page.nextContinuationToken ?? undefined) : undefined;
    } while (token);
  }

  private async sweepTmp(): Promise<void> {
    const dayAgo = Date.now() - 24 * 3600_000;
    for await (const page of this.listPages(TMP_PREFIX)) {
      for (const obj of page) {
        const id = obj.name.slice(TMP_PREFIX.length).split('.')[0] ?? '';
        if (parseFileId(id) && Date.parse(obj.lastModified) < dayAgo) await this.deleteQuietly(obj.name);
      }
    }
  }

  private async deleteQuietly(key: string): Promise<void> {
    try {
      await this.call('delete', (c) => c.delete(key, { timeout: this.timeoutMs }));
    } catch (err) {
      this.opts.log?.warn({ err, key }, 'could not delete temporary object; a lifecycle rule on tmp/ will');
    }
  }

  /**
   * Runs one idempotent call with retries. With `nullOn404`, a 404 answer becomes null; other
   * failures that survive the retries become StorageUnavailableError (503) when they look transient.
   */
  private async call<T>(operation: string, fn: (c: OSS) => Promise<T>, nullOn404: true): Promise<T | null>;
  private async call<T>(operation: string, fn: (c: OSS) => Promise<T>): Promise<T>;
  private async call<T>(operation: string, fn: (c: OSS) => Promise<T>, nullOn404 = false): Promise<T | null> {
    try {
      return await withRetry(
        async () => fn(await this.clients.get()),
        this.retry,
        (err, attempt) => {
          this.opts.onRetry?.(operation);
          this.opts.log?.warn({ err: summarize(err), attempt, operation }, 'retrying OSS call');
        },
      );
    } catch (err) {
      if (nullOn404 && (err as { status?: number }).status === 404) return null;
      if (isRetryable(err)) throw new StorageUnavailableError(operation, err);
      throw err;
    }
  }
}

type Headers = Record<string, string | undefined>;

function recordFromHeaders(userId: string, id: string, headers: Headers): FileRecord | null {
  const parsed = parseFileId(id);
  const sha256 = headers['x-oss-meta-sha256'];
  const size = Number(headers['x-oss-meta-size']);
  if (!parsed || !sha256 || !Number.isSafeInteger(size)) return null;
  let name = id;
  try {
    name = decodeURIComponent(headers['x-oss-meta-name'] ?? id);
  } catch {
    // Keep the id as the name rather than failing the read over a damaged header.
  }
  return {
    id,
    userId,
    name,
    size,
    contentType: headers['content-type'] ?? 'application/octet-stream',
    category: parsed.category,
    sha256,
    createdAt: headers['x-oss-meta-created'] ?? parsed.createdAt.toISOString(),
  };
}

interface ListV2Page {
  objects?: { name: string; size: number; lastModified: string }[];
  isTruncated: boolean;
  nextContinuationToken?: string | null;
}

// @types/ali-oss lacks listV2.
function listV2(client: OSS, query: Record<string, string>, timeout: number): Promise<ListV2Page> {
  return (client as unknown as { listV2(q: object, o: object): Promise<ListV2Page> }).listV2(query, {
    timeout,
  });
}

function summarize(err: unknown): object {
  const e = err as { name?: string; status?: number; code?: string; message?: string };
  return { name: e.name, status: e.status, code: e.code, message: e.message };
}
