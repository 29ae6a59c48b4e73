// Feeding a CredentialsProvider to ali-oss through its own STS hook. ali-oss calls `refreshSTSToken`
// before a request once `refreshSTSTokenInterval` has passed since the last call; with an interval of 0
// it asks before every request, which costs nothing because the provider caches until the credentials
// are near expiry. Two gaps are closed here: ali-oss skips the hook on a client's very first request
// (it only starts its clock), and presigning is synchronous and never calls it.
import type { CredentialsProvider } from './types';

interface AliOssLike {
  options: Record<string, unknown>;
  stsTokenFreshTime?: Date;
}

/** Options to spread into `new OSS({...})`; the placeholders are replaced before any request is signed. */
export function aliOssStsOptions(provider: CredentialsProvider) {
  return {
    accessKeyId: 'pending',
    accessKeySecret: 'pending',
    stsToken: 'pending',
    refreshSTSToken: async () => {
      const c = await provider();
      return {
        accessKeyId: c.accessKeyId,
        accessKeySecret: c.accessKeySecret,
        stsToken: c.securityToken ?? '',
      };
    },
    refreshSTSTokenInterval: 0,
  };
}

/** Makes ali-oss consult the provider on the client's first request too. */
export function primeStsRefresh(client: unknown): void {
  (client as AliOssLike).stsTokenFreshTime = new Date(0);
}

/** Puts the provider's current credentials into the client now (before a synchronous signatureUrl). */
export async function applyCredentials(client: unknown, provider: CredentialsProvider): Promise<void> {
  const c = await provider();
  Object.assign((client as AliOssLike).options, {
    accessKeyId: c.accessKeyId,
    accessKeySecret: c.accessKeySecret,
    stsToken: c.securityToken,
  });
}
