import { createHash, randomBytes } from 'node:crypto';
import { crc64 } from './crc64';
import { errors } from './errors';
import type { BucketAcl, ObjectAcl, StoredObject } from './types';

export interface Part {
  number: number;
  body: Buffer;
  /** Quoted uppercase MD5 hex, as UploadPart returns it. */
  etag: string;
  md5: Buffer;
  lastModified: Date;
}

export interface Upload {
  id: string;
  key: string;
  initiated: Date;
  contentType: string;
  meta: Record<string, string>;
  headers: Record<string, string>;
  acl: ObjectAcl;
  parts: Map<number, Part>;
}

export interface Bucket {
  name: string;
  acl: BucketAcl;
  created: Date;
  objects: Map<string, StoredObject>;
  uploads: Map<string, Upload>;
}

export function md5(body: Uint8Array): Buffer {
  return createHash('md5').update(body).digest();
}

/** OSS ETags for simple uploads: the body's MD5, uppercase hex, in double quotes. */
export function quotedEtag(digest: Buffer): string {
  return `"${digest.toString('hex').toUpperCase()}"`;
}

/** OSS multipart ETag: MD5 of the concatenated binary part MD5s, then "-<part count>". */
export function multipartEtag(parts: Part[]): string {
  const digest = md5(Buffer.concat(parts.map((p) => p.md5)));
  return `"${digest.toString('hex').toUpperCase()}-${parts.length}"`;
}

export interface ObjectInit {
  contentType?: string;
  meta?: Record<string, string>;
  headers?: Record<string, string>;
  acl?: ObjectAcl;
  type?: StoredObject['type'];
  etag?: string;
  lastModified?: Date;
}

export function makeObject(key: string, body: Buffer, init: ObjectInit = {}): StoredObject {
  return {
    key,
    body,
    // OSS stores application/octet-stream when an upload names no type.
    contentType: init.contentType || 'application/octet-stream',
    meta: { ...init.meta },
    headers: { ...init.headers },
    etag: init.etag ?? quotedEtag(md5(body)),
    crc64: crc64(body),
    lastModified: init.lastModified ?? new Date(),
    type: init.type ?? 'Normal',
    acl: init.acl ?? 'default',
  };
}

/** Upload ids look like OSS's: 32 uppercase hex characters. */
export function newUploadId(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

export class Store {
  readonly buckets = new Map<string, Bucket>();

  constructor(names: string[]) {
    for (const name of names) {
      this.buckets.set(name, {
        name,
        acl: 'private',
        created: new Date(),
        objects: new Map(),
        uploads: new Map(),
      });
    }
  }

  bucket(name: string): Bucket {
    const b = this.buckets.get(name);
    if (!b) throw errors.noSuchBucket(name);
    return b;
  }
}
