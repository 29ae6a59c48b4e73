import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { CredentialStore } from './credentials';
import { errors } from './errors';

// OSS V1 signing, as the service verifies it (and as node_modules/ali-oss/lib/common/signUtils.js
// builds it):
//   StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedOSSHeaders CanonicalizedResource
// Date is x-oss-date when present (ali-oss always sends it) else Date; a presigned URL puts its
// Expires there instead. CanonicalizedResource is /bucket/key plus only the query parameters OSS
// treats as sub-resources, sorted, with their decoded values. Everything else in the query (prefix,
// marker, max-keys, list-type, ...) is unsigned: a client that signs it fails here as it would on OSS.

/** Query parameters OSS includes in CanonicalizedResource (the list the official SDKs sign). */
export const SIGNED_SUBRESOURCES: ReadonlySet<string> = new Set([
  'acl',
  'append',
  'asyncFetch',
  'bucketInfo',
  'callback',
  'callback-var',
  'cloudboxes',
  'cname',
  'comp',
  'continuation-token',
  'cors',
  'delete',
  'encryption',
  'endTime',
  'img',
  'inventory',
  'inventoryId',
  'lifecycle',
  'live',
  'location',
  'logging',
  'metaQuery',
  'objectMeta',
  'partNumber',
  'policy',
  'position',
  'qos',
  'qosInfo',
  'referer',
  'regionList',
  'replication',
  'replicationLocation',
  'replicationProgress',
  'requestPayment',
  'resourceGroup',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'restore',
  'security-token',
  'sequential',
  'startTime',
  'stat',
  'status',
  'style',
  'styleName',
  'symlink',
  'tagging',
  'transferAcceleration',
  'udf',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'vod',
  'website',
  'worm',
  'wormExtend',
  'wormId',
  'x-oss-process',
  'x-oss-request-payer',
  'x-oss-traffic-limit',
]);

export function canonicalResource(bucket: string, key: string, query: ReadonlyMap<string, string>): string {
  const signed = [...query.keys()].filter((k) => SIGNED_SUBRESOURCES.has(k)).sort();
  const resource = `/${bucket}/${key}`;
  if (signed.length === 0) return resource;
  const parts = signed.map((k) => {
    const v = query.get(k) ?? '';
    return v === '' ? k : `${k}=${v}`;
  });
  return `${resource}?${parts.join('&')}`;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function canonicalOssHeaders(headers: IncomingHttpHeaders): string {
  return Object.keys(headers)
    .filter((k) => k.startsWith('x-oss-'))
    .sort()
    .map((k) => `${k}:${(headerValue(headers, k) ?? '').trim()}\n`)
    .join('');
}

export interface SignedRequest {
  method: string;
  headers: IncomingHttpHeaders;
  bucket: string;
  key: string;
  query: ReadonlyMap<string, string>;
}

export function buildStringToSign(req: SignedRequest, date: string): string {
  return (
    `${req.method}\n` +
    `${headerValue(req.headers, 'content-md5') ?? ''}\n` +
    `${headerValue(req.headers, 'content-type') ?? ''}\n` +
    `${date}\n` +
    canonicalOssHeaders(req.headers) +
    canonicalResource(req.bucket, req.key, req.query)
  );
}

export function computeSignature(secret: string, stringToSign: string): string {
  return createHmac('sha1', secret).update(Buffer.from(stringToSign, 'utf8')).digest('base64');
}

function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface AuthResult {
  /** '' when the request carried no credentials at all (the caller then applies ACLs). */
  accessKeyId: string;
}

/** Checks a request's V1 signature (header or presigned query); throws the OSS error on failure. */
export function authenticate(
  req: SignedRequest,
  creds: CredentialStore,
  now: Date,
  maxSkewMs: number,
): AuthResult {
  const authorization = headerValue(req.headers, 'authorization');
  if (authorization !== undefined) return verifyHeader(req, authorization, creds, now, maxSkewMs);
  if (req.query.has('OSSAccessKeyId') || req.query.has('Signature') || req.query.has('Expires')) {
    return verifyPresigned(req, creds, now);
  }
  return { accessKeyId: '' };
}

function verifyHeader(
  req: SignedRequest,
  authorization: string,
  creds: CredentialStore,
  now: Date,
  maxSkewMs: number,
): AuthResult {
  if (authorization.startsWith('OSS4-HMAC-SHA256'))
    throw errors.notImplemented('V4 signatures (authorizationV4)');
  const m = /^OSS ([^:\s]+):(\S+)$/.exec(authorization.trim());
  if (!m) throw errors.invalidArgument('Authorization header is invalid.', 'Authorization', authorization);
  const [, accessKeyId = '', provided = ''] = m;

  const date = headerValue(req.headers, 'x-oss-date') ?? headerValue(req.headers, 'date');
  const when = date ? Date.parse(date) : Number.NaN;
  if (Number.isNaN(when)) throw errors.accessDenied('OSS authentication requires a valid Date.');
  // OSS refuses requests more than 15 minutes off its clock: a replayed or badly skewed client fails.
  if (Math.abs(now.getTime() - when) > maxSkewMs) {
    throw errors.requestTimeTooSkewed(date ?? '', now.toUTCString());
  }

  const cred = creds.resolve(accessKeyId, headerValue(req.headers, 'x-oss-security-token'), now);
  const stringToSign = buildStringToSign(req, date ?? '');
  if (!sameSignature(computeSignature(cred.accessKeySecret, stringToSign), provided)) {
    throw errors.signatureDoesNotMatch(accessKeyId, provided, stringToSign);
  }
  return { accessKeyId };
}

function verifyPresigned(req: SignedRequest, creds: CredentialStore, now: Date): AuthResult {
  const accessKeyId = req.query.get('OSSAccessKeyId');
  const provided = req.query.get('Signature');
  const expires = req.query.get('Expires');
  if (!accessKeyId || !provided || !expires || !/^\d+$/.test(expires)) {
    throw errors.accessDenied('Presigned URLs need OSSAccessKeyId, Expires (epoch seconds) and Signature.');
  }
  // Expiry is checked before the signature, as OSS does: an old URL reports "expired", not "mismatch".
  const expiresMs = Number(expires) * 1000;
  if (now.getTime() > expiresMs) {
    throw errors.accessDenied('Request has expired.', {
      Expires: new Date(expiresMs).toISOString(),
      ServerTime: now.toISOString(),
    });
  }
  const cred = creds.resolve(accessKeyId, req.query.get('security-token'), now);
  const stringToSign = buildStringToSign(req, expires);
  if (!sameSignature(computeSignature(cred.accessKeySecret, stringToSign), provided)) {
    throw errors.signatureDoesNotMatch(accessKeyId, provided, stringToSign);
  }
  return { accessKeyId };
}
