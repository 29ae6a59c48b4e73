import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring links to the service's own download route, for the disk backend (which has no
 * presigned URLs of its own): `/v1/files/{id}/content?user=…&expires=…&sig=…`, honoured without a
 * bearer token. The HMAC key is derived from AUTH_SECRET for this one purpose, so a link signature
 * can never be replayed as anything else.
 */
export interface UrlSigner {
  sign(userId: string, id: string, expiresAt: number): string;
  verify(userId: string, id: string, expiresAt: number, sig: string, nowSeconds?: number): boolean;
}

export function createUrlSigner(secret: string): UrlSigner {
  const key = createHmac('sha256', secret).update('ferry-storage/url-signing/v1').digest();
  const mac = (userId: string, id: string, expiresAt: number) =>
    createHmac('sha256', key).update(`${userId}\n${id}\n${expiresAt}`).digest();
  return {
    sign: (userId, id, expiresAt) => mac(userId, id, expiresAt).toString('base64url'),
    verify(userId, id, expiresAt, sig, nowSeconds = Math.floor(Date.now() / 1000)) {
      if (expiresAt < nowSeconds) return false;
      const given = Buffer.from(sig, 'base64url');
      const expected = mac(userId, id, expiresAt);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
