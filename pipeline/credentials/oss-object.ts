// GET, PUT and presigned GET URLs for single OSS objects, signed with pipeline/credentials/oss-sign.ts.
// Enough for a host in pull mode (its channel, the env lock, its status object, the release URLs) and
// small enough for the agent bundle. Retries network errors and 5xx; credentials OSS calls expired are
// fetched again once, since a rotated STS token is the usual reason.
import { createHash } from 'node:crypto';
import { httpRequest } from './http';
import { type OssLocation, objectUrl, presignedGetUrl, signedHeaders } from './oss-sign';
import type { CredentialsProvider } from './types';

export class OssRequestError extends Error {
  override name = 'OssRequestError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
  }

  /** The credentials were refused: expired, rotated away, or wrong. */
  get credentialsRefused(): boolean {
    return ['InvalidAccessKeyId', 'SecurityTokenExpired', 'SignatureDoesNotMatch'].includes(this.code ?? '');
  }
}

export interface OssObjectClientOptions {
  timeoutMs?: number;
  attempts?: number;
  /** Largest object get() reads into memory (default 4 MiB). */
  maxBytes?: number;
}

const CREDENTIAL_CODES = new Set(['InvalidAccessKeyId', 'SecurityTokenExpired']);

export class OssObjectClient {
  constructor(
    readonly location: OssLocation,
    private readonly credentials: CredentialsProvider & { invalidate?: () => void },
    private readonly opts: OssObjectClientOptions = {},
  ) {}

  get description(): string {
    return `oss://${this.location.bucket} (${this.location.endpoint})`;
  }

  /** The object's bytes, or null when it does not exist. */
  async get(key: string): Promise<Buffer | null> {
    return this.send('GET', key);
  }

  async put(key: string, body: Buffer, contentType = 'application/json'): Promise<void> {
    const md5 = createHash('md5').update(body).digest('base64');
    await this.send('PUT', key, { body, contentType, contentMd5: md5 });
  }

  /** A URL for GET valid `ttlSeconds`, but never past the credentials' own expiry. */
  async presign(key: string, ttlSeconds: number): Promise<string> {
    const creds = await this.credentials();
    let expires = Math.floor(Date.now() / 1000) + ttlSeconds;
    if (creds.expiration) expires = Math.min(expires, Math.floor(creds.expiration.getTime() / 1000));
    return presignedGetUrl(this.location, key, creds, expires);
  }

  private async send(
    method: 'GET' | 'PUT',
    key: string,
    o: { body?: Buffer; contentType?: string; contentMd5?: string } = {},
  ): Promise<Buffer | null> {
    const attempts = this.opts.attempts ?? 4;
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      const creds = await this.credentials();
      const headers = signedHeaders(method, this.location, key, creds, {
        ...(o.contentType ? { contentType: o.contentType } : {}),
        ...(o.contentMd5 ? { contentMd5: o.contentMd5 } : {}),
      });
      let failure: Error;
      try {
        const res = await httpRequest(objectUrl(this.location, key), {
          method,
          headers,
          ...(o.body ? { body: o.body } : {}),
          timeoutMs: this.opts.timeoutMs ?? 30_000,
          maxBytes: this.opts.maxBytes ?? 4 * 1024 * 1024,
        });
        if (res.status >= 200 && res.status < 300) return res.body;
        const code = /<Code>([^<]+)<\/Code>/.exec(res.body.toString('utf8'))?.[1];
        if (res.status === 404 && method === 'GET' && (code === 'NoSuchKey' || code === undefined))
          return null;
        const err = new OssRequestError(
          `OSS ${method} ${key} answered ${res.status}${code ? ` ${code}` : ''}`,
          res.status,
          code,
        );
        if (CREDENTIAL_CODES.has(code ?? '') && !renewed && this.credentials.invalidate) {
          renewed = true;
          this.credentials.invalidate();
          continue;
        }
        if (res.status < 500 && res.status !== 429) throw err;
        failure = err;
      } catch (err) {
        if (err instanceof OssRequestError && err.status < 500 && err.status !== 429) throw err;
        failure = err as Error;
      }
      if (attempt >= attempts) throw failure;
      await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1) * (0.5 + Math.random())));
    }
  }
}
