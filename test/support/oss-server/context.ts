import type { IncomingHttpHeaders } from 'node:http';
import { errors } from './errors';
import { type Bucket, md5, type Store } from './store';
import type { ObjectAcl, StoredObject } from './types';

/** Everything a handler needs about one authenticated request. */
export interface RequestContext {
  method: string;
  bucket: Bucket;
  key: string;
  query: ReadonlyMap<string, string>;
  headers: IncomingHttpHeaders;
  body: Buffer;
  store: Store;
  /** Host header, used where OSS echoes the endpoint (Location, HostId). */
  host: string;
  region: string;
  accessKeyId: string;
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * Query strings are decoded with decodeURIComponent only: '+' stays '+', because clients encode
 * a literal '+' as %2B and OSS signs the decoded value. First occurrence of a name wins.
 */
export function parseQuery(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = safeDecode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : safeDecode(pair.slice(eq + 1));
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw errors.invalidArgument('The request URI is not valid percent-encoding.', 'uri', s);
  }
}

export interface Target {
  bucketName: string;
  key: string;
  query: Map<string, string>;
}

/**
 * Which bucket and key a request addresses. A `cname: true` client sends `/key` to a host that is
 * bound to one bucket (the default); a Host of `<bucket>.<anything>` picks another known bucket,
 * like OSS virtual-host addressing.
 */
export function parseTarget(
  url: string,
  host: string,
  buckets: ReadonlySet<string>,
  fallback: string,
): Target {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const label = host.split('.')[0] ?? '';
  const bucketName = host.includes('.') && buckets.has(label) ? label : fallback;
  return {
    bucketName,
    key: safeDecode(path.replace(/^\//, '')),
    query: parseQuery(q < 0 ? '' : url.slice(q + 1)),
  };
}

/** Validates Content-MD5 when sent; OSS answers InvalidDigest both for a malformed and a wrong digest. */
export function checkContentMd5(headers: IncomingHttpHeaders, body: Buffer): void {
  const given = header(headers, 'content-md5');
  if (given === undefined) return;
  const decoded = Buffer.from(given, 'base64');
  if (decoded.length !== 16 || decoded.toString('base64') !== given || !decoded.equals(md5(body))) {
    throw errors.invalidDigest(given);
  }
}

export function forbidOverwrite(headers: IncomingHttpHeaders): boolean {
  return header(headers, 'x-oss-forbid-overwrite')?.toLowerCase() === 'true';
}

/** OSS keys: 1–1023 UTF-8 bytes, not starting with '/' or '\'. */
export function checkObjectName(key: string): void {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes === 0 || bytes > 1023 || key.startsWith('/') || key.startsWith('\\')) {
    throw errors.invalidObjectName(key);
  }
}

const OBJECT_ACLS: readonly ObjectAcl[] = ['default', 'private', 'public-read', 'public-read-write'];

export function parseObjectAcl(value: string | undefined, name: string): ObjectAcl | undefined {
  if (value === undefined) return undefined;
  if ((OBJECT_ACLS as readonly string[]).includes(value)) return value as ObjectAcl;
  throw errors.invalidArgument('no such object access control exists', name, value);
}

export function metaFromHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith('x-oss-meta-') && v !== undefined)
      meta[k.slice(11)] = Array.isArray(v) ? v.join(',') : v;
  }
  return meta;
}

/** Standard headers OSS keeps with an object and replays on GET/HEAD. */
export const STORED_HEADERS = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
] as const;

export function storedHeadersFrom(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const v = header(headers, name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** Headers describing a stored object on GET/HEAD. */
export function objectHeaders(obj: StoredObject): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': obj.contentType,
    etag: obj.etag,
    'last-modified': obj.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
    'x-oss-object-type': obj.type,
    'x-oss-storage-class': 'Standard',
    // Always the whole object's CRC, even on a 206: a client must not check a range against it.
    'x-oss-hash-crc64ecma': obj.crc64,
    ...obj.headers,
  };
  // OSS only returns Content-MD5 for objects uploaded in one piece; multipart objects have none.
  if (obj.type === 'Normal') h['content-md5'] = md5(obj.body).toString('base64');
  for (const [k, v] of Object.entries(obj.meta)) h[`x-oss-meta-${k}`] = v;
  return h;
}
