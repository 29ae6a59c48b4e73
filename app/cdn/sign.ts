import { createHash, randomUUID } from 'node:crypto';

/**
 * Alibaba Cloud CDN URL authentication, type A:
 *
 *   https://{domain}{path}?auth_key={timestamp}-{rand}-{uid}-{md5hash}
 *   md5hash = md5("{path}-{timestamp}-{rand}-{uid}-{privateKey}")
 *
 * The CDN refuses the URL after `timestamp + validity period`, where the validity period is set in
 * the CDN console (default 1800 s). To make a URL live for `expiresSeconds`, the timestamp is
 * therefore set to `now + expiresSeconds - consoleTtlSeconds` (it may lie in the past).
 */
export interface CdnSignOptions {
  /** `cdn.example.com` or `https://cdn.example.com`. */
  domain: string;
  /** URL path, starting with `/`. Must already be URL-encoded. */
  path: string;
  privateKey: string;
  timestamp: number;
  rand?: string;
  uid?: string;
}

export function cdnAuthKey(
  path: string,
  timestamp: number,
  rand: string,
  uid: string,
  privateKey: string,
): string {
  const md5 = createHash('md5').update(`${path}-${timestamp}-${rand}-${uid}-${privateKey}`).digest('hex');
  return `${timestamp}-${rand}-${uid}-${md5}`;
}

export function signCdnUrl({ domain, path, privateKey, timestamp, rand, uid = '0' }: CdnSignOptions): string {
  if (!path.startsWith('/')) throw new Error('CDN path must start with /');
  const origin = /^https?:\/\//.test(domain) ? domain.replace(/\/+$/, '') : `https://${domain}`;
  const r = rand ?? randomUUID().replace(/-/g, '');
  return `${origin}${path}?auth_key=${cdnAuthKey(path, timestamp, r, uid, privateKey)}`;
}

/** The type-A timestamp that makes a URL expire `expiresSeconds` from `nowSeconds`. */
export function cdnTimestamp(nowSeconds: number, expiresSeconds: number, consoleTtlSeconds: number): number {
  return nowSeconds + expiresSeconds - consoleTtlSeconds;
}
