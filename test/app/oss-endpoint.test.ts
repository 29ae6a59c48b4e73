// OSS_ENDPOINT given as an IP address (a private OSS-compatible endpoint, a test server). ali-oss then
// builds the Host header from the region (undefined without OSS_REGION: "Cannot read properties of
// undefined (reading 'substr')" on every request) and refuses to sign any URL for it, so /url could never
// work. The app refuses such an endpoint at start, in one line that says what to set instead.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../app/config';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OSS = {
  STORAGE_BACKEND: 'oss',
  OSS_BUCKET: 'mvp-backend-files',
  OSS_ACCESS_KEY_ID: 'test-key-id',
  OSS_ACCESS_KEY_SECRET: 'test-key-secret',
};
const LINE =
  'OSS_ENDPOINT: expected a host name, not an IP address (ali-oss cannot sign requests or URLs for an IP endpoint): give it a name (an /etc/hosts entry; http://localhost:PORT for a local server) and set OSS_CNAME=true';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('OSS_ENDPOINT as an IP address', () => {
  it.each([
    ['http://127.0.0.1:9000', {}],
    ['https://10.0.0.7', { OSS_REGION: 'oss-cn-shenzhen' }],
    ['http://[::1]:9000', { OSS_CNAME: 'true' }],
  ])('%s is refused with one line naming what to set', (endpoint, extra) => {
    expect(problems({ ...OSS, ...extra, OSS_ENDPOINT: endpoint })).toEqual([
      `${LINE}, got ${JSON.stringify(endpoint)}`,
    ]);
  });

  it('a host name for the same server is accepted', () => {
    const c = loadConfig({ ...OSS, OSS_ENDPOINT: 'http://localhost:9000', OSS_CNAME: 'true' });
    expect(c.storage).toMatchObject({ backend: 'oss', endpoint: 'http://localhost:9000', cname: true });
  });

  it('the server exits 1 at start with that line, before listening', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'app/server.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        PORT: '0',
        HOST: '127.0.0.1',
        ...OSS,
        OSS_ENDPOINT: 'http://127.0.0.1:9000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code).toBe(1);
    expect(out).toBe(`config error: ${LINE}, got "http://127.0.0.1:9000"\n`);
  });
});
