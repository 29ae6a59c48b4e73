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
import { NODE_22, NODE_24, requireTestRuntimes, testRuntime } from '../../support/node-runtimes';
import { describeIf } from '../../support/require-tool';
import { boot, extract } from './boot';

const dirs: string[] = [];
/** The release the first test built and unpacked, for the tests that boot it again on other Nodes. */
let unpacked: string | undefined;
const APP_ENV = { LOG_LEVEL: 'warn', NODE_ENV: 'production', AUTH_SECRET: 'x'.repeat(40) };
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
    await bootAndAsk(dir, process.execPath, process.version);
    unpacked = dir;
  });
});

// The bundle is built on this machine's Node 20; hosts run the runtime the release pins, 22 or 24.
describeIf(
  requireTestRuntimes([
    { version: NODE_22, arch: 'x64' },
    { version: NODE_24, arch: 'x64' },
  ]),
  'the real app, bundled, on the Node versions hosts run',
  () => {
    it.each([NODE_22, NODE_24])('boots on Node %s and answers', { timeout: 90_000 }, async (v) => {
      expect(unpacked, 'the bundle from the test above').toBeDefined();
      await bootAndAsk(unpacked as string, (await testRuntime(v)).binary, `v${v}`);
    });
  },
);

async function bootAndAsk(dir: string, node: string, nodeVersion: string): Promise<void> {
  const storage = await mkdtemp(join(tmpdir(), 'ferry-real-data-'));
  dirs.push(storage);
  const app = await boot(dir, { STORAGE_DIR: storage, ...APP_ENV }, 60_000, node);
  try {
    const health = await fetch(`http://127.0.0.1:${app.port}/healthz`);
    expect(health.status).toBe(200);
    const version = (await (await fetch(`http://127.0.0.1:${app.port}/version`)).json()) as Record<
      string,
      unknown
    >;
    expect(version).toMatchObject({ name: 'ferry-storage', version: '0.0.0-test', node: nodeVersion });
  } finally {
    await app.stop();
  }
}
