// OSS V1 request signing (HMAC-SHA1), small enough for the host agent's bundle, so a host reads the
// registry without ali-oss. The rules, as OSS verifies them (test/support/oss-server/signature.ts checks
// them the same way):
//   StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedOSSHeaders CanonicalizedResource
//   Authorization: OSS <AccessKeyId>:<base64 HMAC-SHA1(secret, StringToSign)>
// Date is the x-oss-date header for header-signed requests and Expires (epoch seconds) for presigned URLs.
// CanonicalizedResource is /bucket/key (the key as is, not URL-encoded) plus the signed sub-resources; the
// only one we use is security-token, which a presigned URL with STS credentials carries in its query.
import { createHmac } from 'node:crypto';
import type { OssCredentials } from './types';

/** Where objects live: a bucket behind an endpoint (virtual-hosted) or a custom domain bound to it. */
export interface OssLocation {
  /** e.g. https://oss-cn-shenzhen-internal.aliyuncs.com */
  endpoint: string;
  bucket: string;
  /** The endpoint is the bucket's own domain (or a test server): the bucket is not in the host name. */
  cname: boolean;
}

export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

export function objectUrl(loc: OssLocation, key: string): URL {
  const base = new URL(loc.endpoint);
  if (!loc.cname) base.hostname = `${loc.bucket}.${base.hostname}`;
  base.pathname = `/${encodeKey(key)}`;
  return base;
}

export function canonicalResource(
  bucket: string,
  key: string,
  subresources: Record<string, string> = {},
): string {
  const names = Object.keys(subresources).sort();
  const resource = `/${bucket}/${key}`;
  if (names.length === 0) return resource;
  return `${resource}?${names.map((n) => (subresources[n] === '' ? n : `${n}=${subresources[n]}`)).join('&')}`;
}

export function stringToSign(o: {
  method: string;
  contentMd5?: string;
  contentType?: string;
  date: string;
  /** x-oss-* headers sent with the request (names are lowercased here). */
  ossHeaders?: Record<string, string>;
  resource: string;
}): string {
  const headers = Object.entries(o.ossHeaders ?? {})
    .map(([k, v]) => [k.toLowerCase(), v.trim()] as const)
    .filter(([k]) => k.startsWith('x-oss-'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}:${v}\n`)
    .join('');
  return `${o.method}\n${o.contentMd5 ?? ''}\n${o.contentType ?? ''}\n${o.date}\n${headers}${o.resource}`;
}

export function sign(secret: string, text: string): string {
  return createHmac('sha1', secret).update(text, 'utf8').digest('base64');
}

/** Headers for a header-signed request: Date (as x-oss-date), the STS token, Authorization. */
export function signedHeaders(
  method: string,
  loc: OssLocation,
  key: string,
  creds: OssCredentials,
  o: { contentType?: string; contentMd5?: string; date?: Date; ossHeaders?: Record<string, string> } = {},
): Record<string, string> {
  const oss: Record<string, string> = {
    ...(o.ossHeaders ?? {}),
    'x-oss-date': (o.date ?? new Date()).toUTCString(),
    ...(creds.securityToken ? { 'x-oss-security-token': creds.securityToken } : {}),
  };
  const text = stringToSign({
    method,
    contentMd5: o.contentMd5,
    contentType: o.contentType,
    date: oss['x-oss-date'] as string,
    ossHeaders: oss,
    resource: canonicalResource(loc.bucket, key),
  });
  return {
    ...oss,
    ...(o.contentType ? { 'content-type': o.contentType } : {}),
    ...(o.contentMd5 ? { 'content-md5': o.contentMd5 } : {}),
    authorization: `OSS ${creds.accessKeyId}:${sign(creds.accessKeySecret, text)}`,
  };
}

/** A GET URL anyone can use until `expiresEpochSec`; the STS token rides in the (signed) query. */
export function presignedGetUrl(
  loc: OssLocation,
  key: string,
  creds: OssCredentials,
  expiresEpochSec: number,
): string {
  const sub: Record<string, string> = creds.securityToken ? { 'security-token': creds.securityToken } : {};
  const text = stringToSign({
    method: 'GET',
    date: String(expiresEpochSec),
    resource: canonicalResource(loc.bucket, key, sub),
  });
  const url = objectUrl(loc, key);
  url.searchParams.set('OSSAccessKeyId', creds.accessKeyId);
  url.searchParams.set('Expires', String(expiresEpochSec));
  url.searchParams.set('Signature', sign(creds.accessKeySecret, text));
  if (creds.securityToken) url.searchParams.set('security-token', creds.securityToken);
  return url.href;
}
