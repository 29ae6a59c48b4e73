import OSS from 'ali-oss';

// One credentials shape for the app, the CLI's registry and the host agent: the ECS metadata provider
// (pipeline/credentials) serves all three. A provider is asked again five minutes before `expiration`.
import type { CredentialsProvider, OssCredentials } from '../../pipeline/credentials/types';

export type { CredentialsProvider, OssCredentials };

export interface OssClientOptions {
  bucket: string;
  region?: string;
  endpoint?: string;
  internal?: boolean;
  cname?: boolean;
  secure?: boolean;
  credentials: OssCredentials | CredentialsProvider;
}

const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * One ali-oss client, built once. With a credentials provider, the provider is asked first and
 * again whenever the credentials are within five minutes of expiring (one call at a time).
 */
export class OssClientSource {
  private client: OSS | null = null;
  private creds: OssCredentials | null = null;
  private refreshing: Promise<OSS> | null = null;

  constructor(
    private readonly opts: OssClientOptions,
    private readonly timeoutMs: number,
  ) {}

  async get(): Promise<OSS> {
    const { credentials } = this.opts;
    if (typeof credentials !== 'function') {
      this.client ??= this.build(credentials);
      return this.client;
    }
    const expiresAt = this.creds?.expiration?.getTime();
    if (this.client && (expiresAt === undefined || expiresAt - Date.now() > REFRESH_MARGIN_MS))
      return this.client;
    this.refreshing ??= (async () => {
      try {
        const next = await credentials();
        this.creds = next;
        if (!this.client) {
          this.client = this.build(next);
        } else {
          // ali-oss reads these per request, so swapping them rotates credentials in place.
          Object.assign((this.client as unknown as { options: object }).options, {
            accessKeyId: next.accessKeyId,
            accessKeySecret: next.accessKeySecret,
            stsToken: next.securityToken,
          });
        }
        return this.client;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private build(creds: OssCredentials): OSS {
    const { bucket, region, endpoint, internal, cname, secure } = this.opts;
    return new OSS({
      bucket,
      region,
      endpoint,
      internal,
      cname,
      secure,
      accessKeyId: creds.accessKeyId,
      accessKeySecret: creds.accessKeySecret,
      stsToken: creds.securityToken,
      timeout: this.timeoutMs,
      // We refresh credentials ourselves; a non-zero interval only silences ali-oss's warning.
      refreshSTSTokenInterval: Number.MAX_SAFE_INTEGER,
    } as OSS.Options);
  }
}
