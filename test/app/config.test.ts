import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_AUTH_SECRET, loadConfig, redactedConfig } from '../../app/config';
import { resolveManifest } from '../../app/manifest';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('gives working defaults for development, with a labelled dev secret', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      env: 'development',
      host: '127.0.0.1',
      port: 8080,
      storage: { backend: 'disk', dir: './data' },
      auth: { secret: DEV_AUTH_SECRET, isDevSecret: true },
      maxUploadBytes: 100 * 1024 ** 2,
      userQuotaBytes: 1024 ** 3,
      alerts: { capacityBytes: null, thresholds: [80, 95], webhookUrl: null },
      usageCacheSeconds: 30,
      shutdownTimeoutMs: 30_000,
    });
  });

  it('has limits for file floods and slow clients, each settable', () => {
    expect(loadConfig({})).toMatchObject({
      maxFilesPerUser: 100_000,
      minFileChargeBytes: 4096,
      connections: {
        headersTimeoutMs: 20_000,
        keepAliveTimeoutMs: 20_000,
        maxConnections: 2000,
        body: { idleTimeoutMs: 30_000, minBytesPerSecond: 1024, rateWindowMs: 20_000 },
      },
    });
    const c = loadConfig({
      MAX_FILES_PER_USER: '0',
      MIN_FILE_CHARGE: '0',
      HEADERS_TIMEOUT_MS: '5000',
      KEEP_ALIVE_TIMEOUT_MS: '65000',
      MAX_CONNECTIONS: '10000',
      BODY_IDLE_TIMEOUT_MS: '60000',
      BODY_MIN_RATE: '4KiB',
      BODY_RATE_WINDOW_MS: '30000',
    });
    expect([c.maxFilesPerUser, c.minFileChargeBytes, c.connections]).toEqual([
      null,
      0,
      {
        headersTimeoutMs: 5000,
        keepAliveTimeoutMs: 65_000,
        maxConnections: 10_000,
        body: { idleTimeoutMs: 60_000, minBytesPerSecond: 4096, rateWindowMs: 30_000 },
      },
    ]);
    expect(problems({ MAX_CONNECTIONS: '0', BODY_MIN_RATE: 'slow', HEADERS_TIMEOUT_MS: '10' })).toEqual([
      'BODY_MIN_RATE: expected a byte count such as 1048576, 500MB or 2GiB, got "slow"',
      'HEADERS_TIMEOUT_MS: expected an integer from 100 to 600000, got "10"',
      'MAX_CONNECTIONS: expected an integer from 1 to 1000000, got "0"',
    ]);
  });

  it('binds 0.0.0.0 and requires a real secret in production', () => {
    expect(problems({ NODE_ENV: 'production' })).toEqual([
      'AUTH_SECRET: required when NODE_ENV=production (at least 32 characters)',
    ]);
    const c = loadConfig({ NODE_ENV: 'production', AUTH_SECRET: 's'.repeat(32) });
    expect(c.host).toBe('0.0.0.0');
  });

  it('parses byte sizes with units, and 0 as no quota', () => {
    const c = loadConfig({ MAX_UPLOAD_BYTES: '2MiB', USER_QUOTA_BYTES: '0', CAPACITY_BYTES: '1.5GB' });
    expect([c.maxUploadBytes, c.userQuotaBytes, c.alerts.capacityBytes]).toEqual([
      2 * 1024 ** 2,
      null,
      1.5e9,
    ]);
  });

  it('names each bad variable once, with what it expects', () => {
    expect(
      problems({
        PORT: '70000',
        STORAGE_BACKEND: 'ftp',
        MAX_UPLOAD_BYTES: 'lots',
        ALERT_THRESHOLDS: '80,x',
        ALERT_WEBHOOK_URL: 'ftp://hook',
        LOG_LEVEL: 'loud',
        AUTH_SECRET: 'short',
        USAGE_CACHE_SECONDS: '-1',
        TRUST_PROXY: 'maybe',
      }),
    ).toEqual([
      'AUTH_SECRET: expected at least 32 characters (e.g. `openssl rand -base64 48`), got "short"',
      'STORAGE_BACKEND: expected disk or oss, got "ftp"',
      'MAX_UPLOAD_BYTES: expected a byte count such as 1048576, 500MB or 2GiB, got "lots"',
      'ALERT_THRESHOLDS: expected comma-separated percentages between 0 and 100, e.g. 80,95, got "80,x"',
      'LOG_LEVEL: expected fatal, error, warn, info, debug, trace, silent, got "loud"',
      'PORT: expected an integer from 0 to 65535, got "70000"',
      'ALERT_WEBHOOK_URL: expected a http: or https: URL, got "ftp://hook"',
      'USAGE_CACHE_SECONDS: expected an integer from 0 to 86400, got "-1"',
      'TRUST_PROXY: expected true or false, got "maybe"',
    ]);
  });

  it('checks the OSS settings and the CDN pairing', () => {
    expect(problems({ STORAGE_BACKEND: 'oss', OSS_REGION: 'shenzhen', OSS_BUCKET: 'Bad_Bucket' })).toEqual([
      'OSS_REGION: expected an OSS region such as oss-cn-shenzhen, got "shenzhen"',
      'OSS_BUCKET: expected a bucket name (3-63 of a-z, 0-9, -), got "Bad_Bucket"',
      'OSS_ACCESS_KEY_ID: required when STORAGE_BACKEND=oss',
      'OSS_ACCESS_KEY_SECRET: required when STORAGE_BACKEND=oss',
    ]);
    const oss = {
      STORAGE_BACKEND: 'oss',
      OSS_REGION: 'oss-cn-shenzhen',
      OSS_BUCKET: 'mvp-backend-files',
      OSS_ACCESS_KEY_ID: 'id',
      OSS_ACCESS_KEY_SECRET: 'secret',
    };
    expect(loadConfig({ ...oss, OSS_INTERNAL: 'true' }).storage).toMatchObject({
      backend: 'oss',
      region: 'oss-cn-shenzhen',
      internal: true,
      secure: true,
    });
    expect(problems({ ...oss, MAX_UPLOAD_BYTES: '2GiB' })).toEqual([
      `MAX_UPLOAD_BYTES: expected 1 to ${1024 ** 3} bytes (OSS CopyObject limit), got "2GiB"`,
    ]);
    expect(problems({ ...oss, CDN_DOMAIN: 'cdn.example.com' })).toEqual([
      'CDN_AUTH_KEY: required when CDN_DOMAIN is set',
    ]);
    expect(problems({ CDN_DOMAIN: 'cdn.example.com', CDN_AUTH_KEY: 'abcdef12' })).toEqual([
      'CDN_DOMAIN: expected STORAGE_BACKEND=oss (the CDN origin is the bucket), got "cdn.example.com"',
    ]);
  });

  it('never puts secrets in the redacted view', () => {
    const c = loadConfig({
      STORAGE_BACKEND: 'oss',
      OSS_REGION: 'oss-cn-shenzhen',
      OSS_BUCKET: 'mvp-backend-files',
      OSS_ACCESS_KEY_ID: 'LTAIexampleid',
      OSS_ACCESS_KEY_SECRET: 'very-secret-key',
      OSS_SECURITY_TOKEN: 'sts-token',
      AUTH_SECRET: 'auth-secret-auth-secret-auth-secret-1',
      CDN_DOMAIN: 'cdn.example.com',
      CDN_AUTH_KEY: 'cdnkey123',
      ALERT_WEBHOOK_URL: 'https://oapi.dingtalk.com/robot/send?access_token=tok',
    });
    const text = JSON.stringify(redactedConfig(c));
    for (const secret of [
      'LTAIexampleid',
      'very-secret-key',
      'sts-token',
      'auth-secret-auth',
      'cdnkey123',
      'access_token',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('mvp-backend-files');
  });
});

describe('resolveManifest', () => {
  it('reads manifest.json one folder above the bundle, else FERRY_MANIFEST, else dev', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-manifest-'));
    try {
      const bundleUrl = new URL(`file://${path.join(dir, 'app', 'index.js')}`).href;
      expect(resolveManifest(null, bundleUrl)).toEqual({
        name: 'ferry-storage',
        version: 'dev',
        commit: null,
        buildTime: null,
      });
      await writeFile(
        path.join(dir, 'manifest.json'),
        JSON.stringify({ name: 'svc', version: '1.2.0', commit: 'abc', buildTime: 'T' }),
      );
      expect(resolveManifest(null, bundleUrl)).toEqual({
        name: 'svc',
        version: '1.2.0',
        commit: 'abc',
        buildTime: 'T',
      });
      expect(() => resolveManifest(path.join(dir, 'missing.json'))).toThrow(
        /FERRY_MANIFEST: expected a readable/,
      );
      await writeFile(path.join(dir, 'bad.json'), '{not json');
      expect(() => resolveManifest(path.join(dir, 'bad.json'))).toThrow(ConfigError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
