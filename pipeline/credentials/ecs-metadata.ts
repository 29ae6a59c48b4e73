// STS credentials of the ECS instance's RAM role, from the instance metadata service, so no AccessKey is
// ever stored on a host. Hardened mode (the only one we speak): a session token from
// `PUT /latest/api/token`, then `GET /latest/meta-data/ram/security-credentials/<role>` with it.
// Credentials are cached and fetched again before they expire: 5 minutes before `Expiration`, or at 80%
// of their lifetime when they live less than 25 minutes. The address is configurable (tests run a loopback
// fake); the default is the link-local address Alibaba Cloud documents.

import { FerryError } from '../errors';
import { ExitCode } from '../exit-codes';
import { httpRequest } from './http';
import type { CredentialsProvider, OssCredentials } from './types';

export const DEFAULT_METADATA_ENDPOINT = 'http://100.100.100.200';
export const METADATA_TOKEN_TTL_HEADER = 'X-aliyun-ecs-metadata-token-ttl-seconds';
export const METADATA_TOKEN_HEADER = 'X-aliyun-ecs-metadata-token';
const CREDENTIALS_PATH = '/latest/meta-data/ram/security-credentials/';
const REFRESH_MARGIN_MS = 5 * 60_000;

/** The metadata service could not give credentials: a config problem on the instance (exit 3). */
export class CredentialsError extends FerryError {
  override name = 'CredentialsError';
  constructor(message: string, opts: { remedy?: string; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.Config });
  }
}

export interface EcsRamRoleOptions {
  /** The RAM role attached to the instance; discovered from the metadata service when omitted. */
  role?: string;
  /** Default http://100.100.100.200. */
  endpoint?: string;
  /** Lifetime asked for the metadata session token, 1-21600 s (default 21600). */
  tokenTtlSeconds?: number;
  /** Per request (default 3 s: the service is link-local, a slow answer means it is not there). */
  timeoutMs?: number;
  /** Attempts per fetch for network errors and 5xx (default 3). */
  attempts?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface EcsRamRoleProvider extends CredentialsProvider {
  /** Drops the cached credentials: the next call fetches again (e.g. after OSS said they expired). */
  invalidate(): void;
  /** How many times credentials were fetched from the service (not served from the cache). */
  readonly fetches: number;
}

/** When cached credentials must be fetched again. */
export function refreshAt(creds: OssCredentials, fetchedAtMs: number): number {
  if (!creds.expiration) return fetchedAtMs + 60 * 60_000;
  const expires = creds.expiration.getTime();
  const lifetime = expires - fetchedAtMs;
  return expires - Math.min(REFRESH_MARGIN_MS, lifetime / 5);
}

/** A cached, self-renewing provider; concurrent callers share one fetch. */
export function ecsRamRoleCredentials(opts: EcsRamRoleOptions = {}): EcsRamRoleProvider {
  const now = opts.now ?? Date.now;
  const client = new MetadataClient(opts);
  let cached: { creds: OssCredentials; renewAt: number } | null = null;
  let inflight: Promise<OssCredentials> | null = null;
  let fetches = 0;
  const provider = (async () => {
    if (cached && now() < cached.renewAt) return cached.creds;
    inflight ??= (async () => {
      try {
        const fetchedAt = now();
        const creds = await client.fetchCredentials();
        fetches++;
        cached = { creds, renewAt: refreshAt(creds, fetchedAt) };
        return creds;
      } finally {
        inflight = null;
      }
    })();
    try {
      return await inflight;
    } catch (err) {
      // A metadata hiccup while the cached credentials still work is no reason to fail a request.
      const exp = cached?.creds.expiration?.getTime();
      if (cached && exp !== undefined && now() < exp - 30_000) return cached.creds;
      throw err;
    }
  }) as EcsRamRoleProvider;
  provider.invalidate = () => {
    cached = null;
  };
  Object.defineProperty(provider, 'fetches', { get: () => fetches });
  return provider;
}

/** The two-step hardened-mode exchange, without caching credentials (the session token is cached). */
export class MetadataClient {
  private readonly endpoint: string;
  private token: { value: string; until: number } | null = null;

  constructor(private readonly opts: EcsRamRoleOptions = {}) {
    this.endpoint = (opts.endpoint ?? DEFAULT_METADATA_ENDPOINT).replace(/\/+$/, '');
  }

  async fetchCredentials(): Promise<OssCredentials> {
    const role = this.opts.role ?? (await this.discoverRole());
    const res = await this.get(`${CREDENTIALS_PATH}${encodeURIComponent(role)}`);
    if (res.status === 404) {
      throw new CredentialsError(`the instance has no RAM role "${role}" (metadata service answered 404)`, {
        remedy:
          'attach the role to the ECS instance (ECS console: Instance > Bind RAM role) or fix pull.ramRole',
      });
    }
    if (res.status !== 200) throw this.unexpected(res.status, 'credentials');
    return parseRoleCredentials(res.body.toString('utf8'), role);
  }

  private async discoverRole(): Promise<string> {
    const res = await this.get(CREDENTIALS_PATH);
    const role = res.status === 200 ? res.body.toString('utf8').split('\n')[0]?.trim() : '';
    if (!role) {
      throw new CredentialsError('the instance has no RAM role attached', {
        remedy: 'attach a RAM role allowed to read the registry to the ECS instance',
      });
    }
    return role;
  }

  /** GET with the session token; a refused token is renewed once (it may have expired). */
  private async get(path: string) {
    for (let round = 0; ; round++) {
      const token = await this.sessionToken();
      const res = await this.call(`${this.endpoint}${path}`, { headers: { [METADATA_TOKEN_HEADER]: token } });
      if ((res.status === 401 || res.status === 403) && round === 0) {
        this.token = null;
        continue;
      }
      if (res.status === 401 || res.status === 403) throw this.unexpected(res.status, 'credentials');
      return res;
    }
  }

  private async sessionToken(): Promise<string> {
    const now = (this.opts.now ?? Date.now)();
    if (this.token && now < this.token.until) return this.token.value;
    const ttl = this.opts.tokenTtlSeconds ?? 21600;
    const res = await this.call(`${this.endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { [METADATA_TOKEN_TTL_HEADER]: String(ttl) },
    });
    const value = res.body.toString('utf8').trim();
    if (res.status !== 200 || !value) throw this.unexpected(res.status, 'a session token');
    // Renewed a minute early so a token never lapses between the two requests.
    this.token = { value, until: now + Math.max(1, ttl - 60) * 1000 };
    return value;
  }

  private async call(url: string, o: { method?: string; headers: Record<string, string> }) {
    const attempts = this.opts.attempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await httpRequest(url, {
          method: o.method ?? 'GET',
          headers: o.headers,
          timeoutMs: this.opts.timeoutMs ?? 3000,
          maxBytes: 64 * 1024,
        });
        if (res.status < 500 || attempt >= attempts) return res;
      } catch (err) {
        if (attempt >= attempts) {
          throw new CredentialsError(
            `the ECS metadata service at ${this.endpoint} did not answer: ${(err as Error).message}`,
            {
              remedy:
                'pull mode needs an ECS instance with a RAM role (or set pull.metadataEndpoint); elsewhere use static credentials',
              cause: err,
            },
          );
        }
      }
      await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
    }
  }

  private unexpected(status: number, what: string): CredentialsError {
    return new CredentialsError(`the ECS metadata service refused ${what} (HTTP ${status})`, {
      remedy: 'check that the instance metadata service is enabled (hardened mode) and reachable',
    });
  }
}

/** The documented JSON: {AccessKeyId, AccessKeySecret, Expiration, SecurityToken, LastUpdated, Code}. */
export function parseRoleCredentials(text: string, role: string): OssCredentials {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CredentialsError(`the metadata service sent credentials for "${role}" that are not JSON`);
  }
  const str = (k: string) => (typeof data[k] === 'string' && data[k] !== '' ? (data[k] as string) : null);
  if (str('Code') !== 'Success') {
    throw new CredentialsError(
      `the metadata service could not issue credentials for "${role}" (Code ${String(data.Code)})`,
    );
  }
  const id = str('AccessKeyId');
  const secret = str('AccessKeySecret');
  const token = str('SecurityToken');
  const expiration = str('Expiration');
  const when = expiration ? new Date(expiration) : null;
  if (!id || !secret || !token || !when || Number.isNaN(when.getTime())) {
    throw new CredentialsError(`the metadata service sent incomplete credentials for "${role}"`);
  }
  return { accessKeyId: id, accessKeySecret: secret, securityToken: token, expiration: when };
}
