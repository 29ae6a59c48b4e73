// OSS credentials (from the environment only) and what OSS errors mean for the person running ferry:
// refused credentials are a config problem (exit 3), a denied operation names the RAM permissions needed.
import { ConfigError, FerryError } from '../errors';
import { isTransient } from './retry';

export interface OssCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string | undefined;
}

export const OSS_ENV = {
  id: 'OSS_ACCESS_KEY_ID',
  secret: 'OSS_ACCESS_KEY_SECRET',
  token: 'OSS_SECURITY_TOKEN',
} as const;

/** Credentials from the environment; a ConfigError names the missing variables. */
export function ossCredentialsFromEnv(env: Record<string, string | undefined>): OssCredentials {
  const id = env[OSS_ENV.id]?.trim();
  const secret = env[OSS_ENV.secret]?.trim();
  const missing = [!id && OSS_ENV.id, !secret && OSS_ENV.secret].filter(Boolean);
  if (!id || !secret) {
    throw new ConfigError(`the OSS registry needs credentials: ${missing.join(' and ')} not set`, {
      remedy: `export ${OSS_ENV.id} and ${OSS_ENV.secret} (and ${OSS_ENV.token} for STS credentials); in CI, store them as secrets`,
    });
  }
  return { accessKeyId: id, accessKeySecret: secret, securityToken: env[OSS_ENV.token]?.trim() || undefined };
}

export function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404 && (codeOf(err) === 'NoSuchKey' || codeOf(err) === undefined);
}

export function isAlreadyExists(err: unknown): boolean {
  return statusOf(err) === 409 && codeOf(err) === 'FileAlreadyExists';
}

/** Known failures become FerryErrors with a remedy; ours pass through; anything else keeps its cause. */
export function explain(what: string, err: unknown, where: string): unknown {
  if (err instanceof FerryError) return err;
  const status = statusOf(err);
  const code = codeOf(err);
  // urllib (under ali-oss) appends its socket pool's internals to network errors: " (connected: false,
  // keepalive socket: …, agent status: {…})". The operator needs the cause, not that.
  const message =
    err instanceof Error ? (err.message.split('\n')[0] ?? '').replace(/ \(connected: .*$/, '') : String(err);
  if (code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch' || code === 'SecurityTokenExpired') {
    return new ConfigError(`OSS refused the credentials (${code}) for ${what}`, {
      remedy: `check ${OSS_ENV.id}, ${OSS_ENV.secret} and ${OSS_ENV.token} (STS tokens expire)`,
      cause: err,
    });
  }
  if (status === 403) {
    return new FerryError(`OSS denied ${what} (${code ?? status}): ${message}`, {
      remedy: `the RAM user needs oss:GetObject, oss:PutObject, oss:ListObjects and oss:DeleteObject on ${where}`,
      cause: err,
    });
  }
  if (code === 'NoSuchBucket') {
    return new ConfigError(`bucket does not exist: ${where}`, {
      remedy: 'check registry.bucket, registry.region and registry.endpoint in releases.yaml',
      cause: err,
    });
  }
  const transient = isTransient(err) ? ' (gave up after retries)' : '';
  return new FerryError(`OSS ${what} failed${transient}: ${message}`, {
    remedy: `check the network path to ${where}; rerunning is safe`,
    cause: err,
  });
}
