import { isIP } from 'node:net';

/**
 * All configuration, from environment variables, validated once at start. Each bad value yields one
 * line naming the variable and what it expects; the entry point prints them and exits non-zero.
 * Secrets are kept here and never logged (see redactedConfig).
 */

export const DEV_AUTH_SECRET = 'ferry-dev-secret-NOT-FOR-PRODUCTION-0123456789';
// CopyObject, used to attach metadata after the upload, handles objects up to 1 GB.
export const OSS_MAX_UPLOAD_BYTES = 1024 ** 3;

export interface DiskStorageConfig {
  backend: 'disk';
  dir: string;
}

export interface OssStorageConfig {
  backend: 'oss';
  bucket: string;
  region: string | null;
  endpoint: string | null;
  internal: boolean;
  cname: boolean;
  secure: boolean;
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string | null;
  /** OSS_RAM_ROLE: STS credentials of the ECS instance's RAM role instead of the keys above. */
  ramRole: string | null;
  /** ECS_METADATA_ENDPOINT: where the instance metadata service answers. */
  metadataEndpoint: string;
  timeoutMs: number;
}

export interface Config {
  env: 'production' | 'development' | 'test';
  host: string;
  port: number;
  logLevel: string;
  storage: DiskStorageConfig | OssStorageConfig;
  auth: { secret: string; isDevSecret: boolean };
  maxUploadBytes: number;
  /** null: no per-user quota. */
  userQuotaBytes: number | null;
  alerts: { capacityBytes: number | null; thresholds: number[]; webhookUrl: string | null };
  cdn: { domain: string; authKey: string; ttlSeconds: number } | null;
  /** null: no limit. */
  maxFilesPerUser: number | null;
  /** Each file counts against the quota as at least this many bytes (the block an empty file costs). */
  minFileChargeBytes: number;
  /** Slow and abusive clients: docs/service.md, "Connections and slow clients". */
  connections: {
    headersTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxConnections: number;
    body: { idleTimeoutMs: number; minBytesPerSecond: number; rateWindowMs: number };
  };
  usageCacheSeconds: number;
  shutdownTimeoutMs: number;
  manifestPath: string | null;
  publicBaseUrl: string | null;
  trustProxy: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  fail(name: string, expected: string, got?: string): undefined {
    this.problems.push(
      `${name}: expected ${expected}${got === undefined ? '' : `, got ${JSON.stringify(got)}`}`,
    );
    return undefined;
  }

  string(name: string, pattern?: RegExp, expected?: string): string | undefined {
    const v = this.raw(name);
    if (v !== undefined && pattern && !pattern.test(v))
      return this.fail(name, expected ?? `to match ${pattern}`, v);
    return v;
  }

  required(name: string, why: string, pattern?: RegExp, expected?: string): string {
    const v = this.string(name, pattern, expected);
    if (v === undefined && this.raw(name) === undefined) this.problems.push(`${name}: required ${why}`);
    return v ?? '';
  }

  int(name: string, def: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max)
      return this.fail(name, `an integer from ${min} to ${max}`, v) ?? def;
    return n;
  }

  bool(name: string, def: boolean): boolean {
    const v = this.raw(name)?.toLowerCase();
    if (v === undefined) return def;
    if (['true', '1', 'yes'].includes(v)) return true;
    if (['false', '0', 'no'].includes(v)) return false;
    return this.fail(name, 'true or false', v) ?? def;
  }

  bytes(name: string, def: number | null): number | null {
    const v = this.raw(name);
    if (v === undefined) return def;
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v);
    const unit = UNITS[(m?.[2] || 'b').toLowerCase()];
    const n = m && unit ? Math.floor(Number(m[1]) * unit) : Number.NaN;
    if (!Number.isSafeInteger(n))
      return this.fail(name, 'a byte count such as 1048576, 500MB or 2GiB', v) ?? def;
    return n;
  }

  url(name: string, protocols = ['http:', 'https:']): string | null {
    const v = this.raw(name);
    if (v === undefined) return null;
    try {
      const u = new URL(v);
      if (protocols.includes(u.protocol)) return v.replace(/\/+$/, '');
    } catch {
      // reported below
    }
    return this.fail(name, `a ${protocols.join(' or ')} URL`, v) ?? null;
  }
}

/**
 * ali-oss sends requests to an IP endpoint with a Host header built from the region, and refuses to sign
 * any URL for one, so an IP here would fail every request (or every link) at run time: refuse it at start.
 */
function ossEndpoint(r: Reader): string | null {
  const endpoint = r.url('OSS_ENDPOINT');
  if (endpoint === null || isIP(new URL(endpoint).hostname.replace(/^\[|\]$/g, '')) === 0) return endpoint;
  return (
    r.fail(
      'OSS_ENDPOINT',
      'a host name, not an IP address (ali-oss cannot sign requests or URLs for an IP endpoint): give it a name (an /etc/hosts entry; http://localhost:PORT for a local server) and set OSS_CNAME=true',
      endpoint,
    ) ?? null
  );
}

export function resolveAuthSecret(env: Env): { secret: string; isDevSecret: boolean } {
  const r = new Reader(env);
  const production = env.NODE_ENV === 'production';
  const secret = r.string(
    'AUTH_SECRET',
    /^.{32,}$/s,
    'at least 32 characters (e.g. `openssl rand -base64 48`)',
  );
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  if (secret) return { secret, isDevSecret: false };
  if (production)
    throw new ConfigError(['AUTH_SECRET: required when NODE_ENV=production (at least 32 characters)']);
  return { secret: DEV_AUTH_SECRET, isDevSecret: true };
}

export function loadConfig(env: Env = process.env): Config {
  const r = new Reader(env);
  const nodeEnv =
    env.NODE_ENV === 'production' ? 'production' : env.NODE_ENV === 'test' ? 'test' : 'development';
  const production = nodeEnv === 'production';

  let auth: Config['auth'] = { secret: '', isDevSecret: false };
  try {
    auth = resolveAuthSecret(env);
  } catch (err) {
    r.problems.push(...(err as ConfigError).problems);
  }

  const backend = r.string('STORAGE_BACKEND', /^(disk|oss)$/, 'disk or oss') ?? 'disk';
  let storage: Config['storage'];
  if (backend === 'oss') {
    const why = 'when STORAGE_BACKEND=oss';
    const ramRole = r.string('OSS_RAM_ROLE', /^[A-Za-z0-9._-]{1,64}$/, 'a RAM role name') ?? null;
    const endpoint = ossEndpoint(r);
    const region =
      r.string('OSS_REGION', /^oss-[a-z0-9-]+$/, 'an OSS region such as oss-cn-shenzhen') ?? null;
    if (r.raw('OSS_ENDPOINT') === undefined && !region && r.raw('OSS_REGION') === undefined) {
      r.problems.push(`OSS_REGION: required ${why} unless OSS_ENDPOINT is set (e.g. oss-cn-shenzhen)`);
    }
    storage = {
      backend: 'oss',
      bucket: r.required(
        'OSS_BUCKET',
        why,
        /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/,
        'a bucket name (3-63 of a-z, 0-9, -)',
      ),
      region,
      endpoint,
      internal: r.bool('OSS_INTERNAL', false),
      cname: r.bool('OSS_CNAME', false),
      secure: r.bool('OSS_SECURE', true),
      // With a RAM role the keys come from the ECS metadata service, rotating; none is configured.
      accessKeyId: ramRole ? (r.string('OSS_ACCESS_KEY_ID') ?? '') : r.required('OSS_ACCESS_KEY_ID', why),
      accessKeySecret: ramRole
        ? (r.string('OSS_ACCESS_KEY_SECRET') ?? '')
        : r.required('OSS_ACCESS_KEY_SECRET', why),
      securityToken: r.string('OSS_SECURITY_TOKEN') ?? null,
      ramRole,
      metadataEndpoint: r.url('ECS_METADATA_ENDPOINT') ?? 'http://100.100.100.200',
      timeoutMs: r.int('OSS_TIMEOUT_MS', 60_000, 1000, 600_000),
    };
  } else {
    storage = { backend: 'disk', dir: r.string('STORAGE_DIR') ?? './data' };
  }

  const maxUploadCap = backend === 'oss' ? OSS_MAX_UPLOAD_BYTES : Number.MAX_SAFE_INTEGER;
  let maxUploadBytes = r.bytes('MAX_UPLOAD_BYTES', 100 * 1024 ** 2) ?? 0;
  if (maxUploadBytes < 1 || maxUploadBytes > maxUploadCap) {
    r.fail(
      'MAX_UPLOAD_BYTES',
      backend === 'oss' ? `1 to ${OSS_MAX_UPLOAD_BYTES} bytes (OSS CopyObject limit)` : 'at least 1 byte',
      r.raw('MAX_UPLOAD_BYTES'),
    );
    maxUploadBytes = 1;
  }
  const quota = r.bytes('USER_QUOTA_BYTES', 1024 ** 3);
  const minCharge = r.bytes('MIN_FILE_CHARGE', 4096) ?? 0;
  // A rate in bytes per second, units allowed (`1KiB` = 1024 bytes/s); 0 turns the check off.
  const minRate = r.bytes('BODY_MIN_RATE', 1024) ?? 0;

  const thresholdsText = r.raw('ALERT_THRESHOLDS') ?? '80,95';
  const thresholds = thresholdsText.split(',').map((t) => Number(t.trim()));
  if (thresholds.some((t) => !Number.isFinite(t) || t <= 0 || t > 100)) {
    r.fail('ALERT_THRESHOLDS', 'comma-separated percentages between 0 and 100, e.g. 80,95', thresholdsText);
  }
  const capacity = r.bytes('CAPACITY_BYTES', null);
  if (capacity === 0) r.fail('CAPACITY_BYTES', 'a positive byte count', '0');

  const cdnDomain = r.string(
    'CDN_DOMAIN',
    /^(https?:\/\/)?[A-Za-z0-9.-]+(:\d+)?\/?$/,
    'a host name such as cdn.example.com (optionally with https://)',
  );
  let cdn: Config['cdn'] = null;
  if (cdnDomain) {
    if (backend !== 'oss')
      r.fail('CDN_DOMAIN', 'STORAGE_BACKEND=oss (the CDN origin is the bucket)', cdnDomain);
    cdn = {
      domain: cdnDomain,
      authKey: r.required(
        'CDN_AUTH_KEY',
        'when CDN_DOMAIN is set',
        /^[A-Za-z0-9]{6,40}$/,
        '6-40 letters or digits',
      ),
      ttlSeconds: r.int('CDN_AUTH_TTL_SECONDS', 1800, 1, 31_536_000),
    };
  }

  const logLevel = r.raw('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) r.fail('LOG_LEVEL', LOG_LEVELS.join(', '), logLevel);

  const config: Config = {
    env: nodeEnv,
    host:
      r.string('HOST', /^[A-Za-z0-9.:[\]-]+$/, 'a host name or IP address') ??
      (production ? '0.0.0.0' : '127.0.0.1'),
    port: r.int('PORT', 8080, 0, 65535),
    logLevel,
    storage,
    auth,
    maxUploadBytes,
    userQuotaBytes: quota === 0 ? null : quota,
    alerts: {
      capacityBytes: capacity,
      thresholds: [...new Set(thresholds)].sort((a, b) => a - b),
      webhookUrl: r.url('ALERT_WEBHOOK_URL'),
    },
    cdn,
    maxFilesPerUser: r.int('MAX_FILES_PER_USER', 100_000, 0, 100_000_000) || null,
    minFileChargeBytes: minCharge,
    connections: {
      headersTimeoutMs: r.int('HEADERS_TIMEOUT_MS', 20_000, 100, 600_000),
      keepAliveTimeoutMs: r.int('KEEP_ALIVE_TIMEOUT_MS', 20_000, 100, 600_000),
      maxConnections: r.int('MAX_CONNECTIONS', 2000, 1, 1_000_000),
      body: {
        idleTimeoutMs: r.int('BODY_IDLE_TIMEOUT_MS', 30_000, 100, 3_600_000),
        minBytesPerSecond: minRate,
        rateWindowMs: r.int('BODY_RATE_WINDOW_MS', 20_000, 100, 3_600_000),
      },
    },
    usageCacheSeconds: r.int('USAGE_CACHE_SECONDS', 30, 0, 86_400),
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', 30_000, 0, 3_600_000),
    manifestPath: r.string('FERRY_MANIFEST') ?? null,
    publicBaseUrl: r.url('PUBLIC_BASE_URL'),
    trustProxy: r.bool('TRUST_PROXY', false),
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

/** The config with secrets replaced, for the start-up log line. */
export function redactedConfig(config: Config): object {
  const hide = (v: string | null) => (v ? '[redacted]' : null);
  return {
    ...config,
    auth: { secret: '[redacted]', isDevSecret: config.auth.isDevSecret },
    storage:
      config.storage.backend === 'oss'
        ? {
            ...config.storage,
            accessKeyId: hide(config.storage.accessKeyId),
            accessKeySecret: hide(config.storage.accessKeySecret),
            securityToken: hide(config.storage.securityToken),
          }
        : config.storage,
    cdn: config.cdn && { ...config.cdn, authKey: '[redacted]' },
    alerts: { ...config.alerts, webhookUrl: hide(config.alerts.webhookUrl) },
  };
}
