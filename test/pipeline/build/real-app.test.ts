// Test what we ship: build the real storage service from the repo's releases.yaml, unpack the artifact
// where there is no node_modules, boot it, and ask it for /healthz and /version. Slow (one full ncc build).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRelease } from '../../../pipeline/build/build';
import { sha256 } from '../../../pipeline/build/hash';
import { innerManifest, readArtifact } from '../../../pipeline/build/read-artifact';
import { loadConfig, PACKAGE_ROOT } from '../../../pipeline/config/load';
import { boot, extract } from './boot';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('the real app, bundled', () => {
  it('boots from the artifact alone and reports the manifest version', { timeout: 180_000 }, async () => {
    const out = await mkdtemp(join(tmpdir(), 'ferry-real-build-'));
    dirs.push(out);
    const config = loadConfig({ cwd: PACKAGE_ROOT, env: {} });
    const built = await buildRelease({
      config,
      env: { SOURCE_DATE_EPOCH: '1700000000' },
      version: '0.0.0-test',
      outDir: out,
    });
    const entries = await readArtifact(built.path);
    const manifest = innerManifest(entries);
    expect(manifest.entry).toBe('app/index.js');
    // The source map is beside the artifact, described by the manifest, and not inside.
    expect(entries.some((e) => e.path.endsWith('.map'))).toBe(false);
    const map = await readFile(built.sourceMapPath as string);
    expect(manifest.sourceMap).toEqual({
      file: 'ferry-storage-0.0.0-test.js.map.gz',
      for: 'app/index.js',
      size: map.length,
      sha256: sha256(map),
    });
    // The bundled packages, as the lockfile pins them; the CLI's own (node-ssh) are not in the bundle.
    const lock = JSON.parse(await readFile(join(PACKAGE_ROOT, 'package-lock.json'), 'utf8'));
    const fastify = lock.packages['node_modules/fastify'];
    expect(manifest.dependencies).toContainEqual({
      name: 'fastify',
      version: fastify.version,
      license: fastify.license,
    });
    expect(manifest.dependencies?.some((d) => d.name === 'node-ssh')).toBe(false);
    expect(manifest.settings?.environments.local?.service.mode).toBe('process');

    const dir = await extract(entries);
    dirs.push(dir);
    const storage = await mkdtemp(join(tmpdir(), 'ferry-real-data-'));
    dirs.push(storage);
    const app = await boot(
      dir,
      {
        STORAGE_DIR: storage,
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
        AUTH_SECRET: 'x'.repeat(40),
      },
      60_000,
    );
    try {
      const health = await fetch(`http://127.0.0.1:${app.port}/healthz`);
      expect(health.status).toBe(200);
      const version = (await (await fetch(`http://127.0.0.1:${app.port}/version`)).json()) as Record<
        string,
        unknown
      >;
      expect(version).toMatchObject({ name: 'ferry-storage', version: '0.0.0-test' });
    } finally {
      await app.stop();
    }
  });
});
