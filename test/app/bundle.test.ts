import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../app/auth/tokens';
import { startOssServer } from '../support/oss-server/index';
import { spawnServer } from './process';
import { SECRET } from './support';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MANIFEST = {
  name: 'ferry-storage',
  version: '1.2.0',
  commit: 'abc123def456',
  buildTime: '2026-01-02T03:04:05Z',
};

/**
 * Test what ships: the ncc bundle of app/server.ts, run from a release-shaped folder under the
 * system temp dir (`releases/1.2.0/app/index.js` + `releases/1.2.0/manifest.json`) where no
 * node_modules can be reached.
 */
describe('the ncc bundle', () => {
  let tmp: string;
  let release: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ferry-bundle-'));
    release = path.join(tmp, 'releases', MANIFEST.version);
    await mkdir(release, { recursive: true });
    const build = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/@vercel/ncc/dist/ncc/cli.js'),
        'build',
        'app/server.ts',
        '-o',
        path.join(release, 'app'),
        '-m',
        '-q',
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 110_000 },
    );
    if (build.status !== 0) throw new Error(`ncc failed:\n${build.stdout}\n${build.stderr}`);
    await writeFile(path.join(release, 'manifest.json'), JSON.stringify(MANIFEST));
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('is an ESM bundle with no node_modules reachable from where it runs', () => {
    expect(existsSync(path.join(release, 'app/index.js'))).toBe(true);
    for (let dir = path.join(release, 'app'); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      expect(existsSync(path.join(dir, 'node_modules')), dir).toBe(false);
    }
  });

  it('boots and answers /healthz, /version from the manifest, and /docs with its assets', async () => {
    const server = await spawnServer(
      { STORAGE_DIR: path.join(tmp, 'data') },
      { entry: ['app/index.js'], cwd: release },
    );
    try {
      expect(await (await fetch(`${server.base}/healthz`)).json()).toEqual({ status: 'ok' });
      const version = (await (await fetch(`${server.base}/version`)).json()) as Record<string, unknown>;
      expect(version).toEqual({ ...MANIFEST, node: process.version, pid: server.child.pid });

      const ui = await fetch(`${server.base}/docs`);
      expect(ui.status).toBe(200);
      const html = await ui.text();
      const css = /href="([^"]*swagger-ui\.css)"/.exec(html)?.[1];
      expect(css).toBeDefined();
      const asset = await fetch(new URL(css!, `${server.base}/docs`));
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(/text\/css/);
      expect((await asset.text()).length).toBeGreaterThan(10_000);
      const js = await fetch(`${server.base}/docs/static/swagger-ui-bundle.js`);
      expect(js.status).toBe(200);
      await js.arrayBuffer();

      const spec = (await (await fetch(`${server.base}/docs/json`)).json()) as {
        info: { version: string };
        paths: Record<string, unknown>;
      };
      expect(spec.info.version).toBe('1.2.0');
      expect(Object.keys(spec.paths)).toEqual(
        expect.arrayContaining([
          '/v1/files',
          '/v1/files/{id}',
          '/v1/files/{id}/content',
          '/v1/files/{id}/url',
          '/v1/usage',
        ]),
      );
    } finally {
      server.child.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    }
  });

  it('stores and serves files on OSS from the bundle (ali-oss bundled)', async () => {
    const oss = await startOssServer();
    const o = oss.clientOptions('public');
    const server = await spawnServer(
      {
        STORAGE_BACKEND: 'oss',
        OSS_BUCKET: o.bucket,
        OSS_ENDPOINT: o.endpoint,
        OSS_CNAME: 'true',
        OSS_ACCESS_KEY_ID: o.accessKeyId,
        OSS_ACCESS_KEY_SECRET: o.accessKeySecret,
      },
      { entry: ['app/index.js'], cwd: release },
    );
    try {
      const auth = {
        authorization: `Bearer ${await mintToken({ secret: SECRET, subject: 'alice', scopes: ['read', 'write'], ttlSeconds: 60 })}`,
      };
      const fd = new FormData();
      fd.append('file', new Blob(['from the bundle']), 'b.txt');
      const up = await fetch(`${server.base}/v1/files`, { method: 'POST', body: fd, headers: auth });
      expect(up.status).toBe(201);
      const { id } = (await up.json()) as { id: string };
      const down = await fetch(`${server.base}/v1/files/${id}/content`, { headers: auth });
      expect(await down.text()).toBe('from the bundle');
      expect((await fetch(`${server.base}/readyz`)).status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      await oss.close();
    }
  });
});
