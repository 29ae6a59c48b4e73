// The registry: a key/value store of release files with one layout (pipeline/release/layout.ts) and two
// backends, an OSS bucket and a local folder. Versions are immutable, so writes can forbid overwriting, and
// hosts read through presigned URLs so they never hold credentials.
import { FerryError } from '../errors';

export interface ObjectInfo {
  key: string;
  size: number;
  /** ISO time of the last write. */
  lastModified: string;
}

export interface PutOptions {
  /** Fail with AlreadyExistsError instead of replacing an existing object (OSS x-oss-forbid-overwrite). */
  forbidOverwrite?: boolean;
  contentType?: string;
}

export interface PutFileOptions extends PutOptions {
  /** Called with bytes sent so far and the total. */
  onProgress?: (sent: number, total: number) => void;
  /** Files larger than this go up in parts (OSS multipart). Default 8 MiB. */
  multipartThreshold?: number;
  /** Part size for multipart uploads. Default 8 MiB (OSS minimum 100 KiB, except the last part). */
  partSize?: number;
}

export interface PresignOptions {
  expiresSeconds: number;
  /** Which endpoint the URL points at: hosts use 'internal' (free, in-region traffic). */
  endpoint?: 'internal' | 'public';
}

export interface Registry {
  /** Human description for messages: "oss://bucket/prefix" or a folder path. */
  readonly description: string;
  get(key: string): Promise<Buffer | null>;
  /** crc64: the server's CRC-64/ECMA of the object (OSS x-oss-hash-crc64ecma), when it keeps one. */
  head(key: string): Promise<{ size: number; etag: string; crc64?: string } | null>;
  put(key: string, body: Buffer, opts?: PutOptions): Promise<void>;
  putFile(key: string, path: string, opts?: PutFileOptions): Promise<void>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Downloads to `destPath` atomically, verifying length (and CRC64 on OSS). */
  download(key: string, destPath: string): Promise<void>;
  /** A URL anyone can GET for `expiresSeconds`: presigned on OSS, file:// locally. */
  presign(key: string, opts: PresignOptions): Promise<string>;
}

export const DEFAULT_MULTIPART_THRESHOLD = 8 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/** A forbid-overwrite write found the key taken. Callers decide whether identical bytes are fine. */
export class AlreadyExistsError extends FerryError {
  override name = 'AlreadyExistsError';
  readonly key: string;
  constructor(key: string) {
    super(`${key} already exists in the registry`, {
      remedy: 'published files are immutable; publish under a new version',
    });
    this.key = key;
  }
}

/** Keys are POSIX-style relative paths; reject anything that could escape a folder or confuse OSS. */
export function checkKey(key: string): void {
  const ok =
    key.length > 0 &&
    key.length <= 1023 &&
    !key.startsWith('/') &&
    !/[\0\\]/.test(key) &&
    key.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
  if (!ok) throw new Error(`invalid registry key: ${JSON.stringify(key)}`);
}
