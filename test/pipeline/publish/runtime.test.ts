// Publishing releases that ship a Node runtime, on both registry backends (a folder and the strict OSS
// server): the runtime goes up before the manifest, once per runtime, never over different bytes, and the
// signed manifest pins it so a tampered pin or object fails verification.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FerryConfig, RegistryConfig } from '../../../pipeline/config/resolve';
import { FerryError } from '../../../pipeline/errors';
import { publishRelease } from '../../../pipeline/publish/publish';
import { restoreVanished } from '../../../pipeline/publish/runtime-upload';
import { verifyPublished } from '../../../pipeline/publish/verify';
import { readIndex, updateIndex } from '../../../pipeline/registry/release-index';
import { releaseKeys } from '../../../pipeline/release/layout';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';
import { prepareRuntime } from '../../../pipeline/runtime/prepare';
import { artifactKeyOf } from '../../fixtures/releases';
import {
  NODE_22,
  NODE_24,
  requireTestRuntimes,
  runtimeFolder,
  SHARED_FERRY_CACHE,
} from '../../support/node-runtimes';
import { describeIf } from '../../support/require-tool';
import { type Backend, openBackend, ossConfig } from '../registry/backends';
import { configFor, syntheticArtifact } from './synthetic';

const key = generateSigningKeyPair();
let scratch: string;
let folder: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ferry-publish-runtime-'));
  if (requireTestRuntimes().available) folder = await runtimeFolder();
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

function withRuntime(registry: RegistryConfig, node: string): FerryConfig {
  const config = configFor(registry, key.publicKey);
  config.app.runtime = { node, arch: ['x64'], from: { kind: 'folder', path: folder } };
  return config;
}

describeIf(requireTestRuntimes(), 'publishing with a runtime', () => {
  describe.each(['local', 'oss'] as const)('to the %s registry', (name) => {
    let b: Backend;
    let registryConfig: RegistryConfig;
    beforeAll(async () => {
      b = await openBackend(name);
      registryConfig =
        name === 'oss' && b.oss
          ? ossConfig(b.oss)
          : { type: 'local', path: (b.registry as unknown as { root: string }).root, prefix: 'releases' };
    });
    afterAll(() => b.close());

    const publish = async (version: string, node = NODE_22) => {
      const steps: string[] = [];
      const artifactPath = await syntheticArtifact(join(scratch, name, version), { version });
      const r = await publishRelease({
        config: withRuntime(registryConfig, node),
        registry: b.registry,
        privateKeyPem: key.privateKeyPem,
        artifactPath,
        cacheDir: SHARED_FERRY_CACHE,
        onStep: (m) => steps.push(m),
      });
      return { r, steps };
    };
    /** Keys written, in order (a multipart upload counts once). */
    const written = () => [
      ...new Set(
        (b.oss?.log ?? [])
          .filter((e) => (e.method === 'PUT' || e.method === 'POST') && e.status === 200 && e.key)
          .map((e) => e.key),
      ),
    ];

    it('uploads the runtime before the artifact and manifest; the signed manifest pins it; the index records it', async () => {
      b.oss?.resetStats();
      const { r } = await publish('1.0.0');
      const pin = r.manifest.runtime;
      const x64 = pin?.artifacts.x64;
      expect(pin).toEqual({
        name: 'node',
        version: NODE_22,
        artifacts: {
          x64: {
            key: expect.stringMatching(
              /^releases\/runtimes\/node-22\.23\.5-linux-x64-[0-9a-f]{12}\.tar\.gz$/,
            ),
            size: expect.any(Number),
            sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
            glibc: '2.28',
          },
        },
      });
      expect(r.runtime?.uploads).toEqual([{ arch: 'x64', key: x64?.key, status: 'uploaded' }]);
      const keys = releaseKeys('releases', 'fixture', '1.0.0');
      if (b.oss) {
        expect(written()).toEqual([
          x64?.key,
          artifactKeyOf('releases', 'fixture', '1.0.0'),
          keys.signature,
          keys.manifest,
          'releases/fixture/index.json',
        ]);
      }
      const published = JSON.parse((await b.registry.get(keys.manifest))?.toString() ?? '{}');
      expect(published.runtime).toEqual(pin);
      expect((await b.registry.head(x64?.key ?? ''))?.size).toBe(x64?.size);
      expect((await readIndex(b.registry, 'releases', 'fixture')).versions[0]).toMatchObject({
        version: '1.0.0',
        runtime: NODE_22,
      });
      expect(await verifyPublished(b.registry, 'releases', 'fixture', '1.0.0', key.publicKey)).toMatchObject({
        ok: true,
      });
    });

    it('a second release on the same runtime uploads nothing for it and says so', async () => {
      b.oss?.resetStats();
      const { r, steps } = await publish('1.1.0');
      const runtimeKey = r.manifest.runtime?.artifacts.x64?.key as string;
      expect(steps).toContain('runtime node-22.23.5-linux-x64 already in the registry, not uploaded');
      expect(r.runtime?.uploads).toEqual([{ arch: 'x64', key: runtimeKey, status: 'present' }]);
      if (b.oss) expect(written()).not.toContain(runtimeKey);
      expect((await b.registry.list('releases/runtimes/')).map((o) => o.key)).toEqual([runtimeKey]);
      expect(r.status).toBe('published');
    });

    it("an index rebuilt from the manifests keeps each release's runtime version", async () => {
      await b.registry.delete('releases/fixture/index.json');
      const index = await updateIndex(b.registry, 'releases', 'fixture', {
        version: '1.1.0',
        publishedAt: new Date().toISOString(),
        size: 1,
        sha256: '0'.repeat(64),
        commit: null,
        runtime: NODE_22,
      });
      expect(index.versions.map((v) => [v.version, v.runtime])).toEqual([
        ['1.1.0', NODE_22],
        ['1.0.0', NODE_22],
      ]);
    });

    it('refuses different bytes under an existing runtime key, and publishes no manifest', async () => {
      const config = withRuntime(registryConfig, NODE_24);
      const prepared = await prepareRuntime({ config, cacheDir: SHARED_FERRY_CACHE });
      const a = prepared?.pin.artifacts.x64;
      if (!a) throw new Error('no runtime');
      // Same size, other bytes: only a content check tells them apart (CRC-64 on OSS, sha256 locally).
      await b.registry.put(a.key, Buffer.alloc(a.size, 7));
      try {
        const err = await publish('1.2.0', NODE_24).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(FerryError);
        expect((err as Error).message).toMatch(
          new RegExp(
            `^${a.key.replace(/\./g, '\\.')} already exists with different bytes than runtime node-24\\.22\\.3-linux-x64 \\((CRC-64|sha256) .* there, .* here\\); refusing to publish on it$`,
          ),
        );
        expect((err as FerryError).remedy).toMatch(/delete it from the registry, and publish again/);
        expect(await b.registry.get(releaseKeys('releases', 'fixture', '1.2.0').manifest)).toBeNull();
      } finally {
        await b.registry.delete(a.key);
      }
    });

    it('a runtime deleted while publishing (a concurrent gc) is put back after the manifest', async () => {
      const m = JSON.parse(
        (await b.registry.get(releaseKeys('releases', 'fixture', '1.0.0').manifest))?.toString() ?? '{}',
      );
      const prepared = await prepareRuntime({
        config: withRuntime(registryConfig, NODE_22),
        cacheDir: SHARED_FERRY_CACHE,
      });
      if (!prepared) throw new Error('no runtime');
      expect(prepared.pin).toEqual(m.runtime);
      const steps: string[] = [];
      expect(await restoreVanished(b.registry, prepared.pin, prepared.files, (s) => steps.push(s))).toEqual(
        [],
      );
      await b.registry.delete(m.runtime.artifacts.x64.key);
      expect(await restoreVanished(b.registry, prepared.pin, prepared.files, (s) => steps.push(s))).toEqual([
        m.runtime.artifacts.x64.key,
      ]);
      expect(steps).toEqual([
        'runtime node-22.23.5-linux-x64 vanished while publishing (a concurrent ferry gc?); uploading it again',
      ]);
      expect(await verifyPublished(b.registry, 'releases', 'fixture', '1.0.0', key.publicKey)).toMatchObject({
        ok: true,
      });
    });

    it('verify checks the runtime object too: replaced bytes fail, the original passes again', async () => {
      const m = JSON.parse(
        (await b.registry.get(releaseKeys('releases', 'fixture', '1.0.0').manifest))?.toString() ?? '{}',
      );
      const a = m.runtime.artifacts.x64;
      const original = (await b.registry.get(a.key)) as Buffer;
      const forged = Buffer.from(original);
      forged[forged.length >> 1] = (forged[forged.length >> 1] ?? 0) ^ 1;
      await b.registry.put(a.key, forged);
      try {
        expect(await verifyPublished(b.registry, 'releases', 'fixture', '1.0.0', key.publicKey)).toEqual({
          ok: false,
          reason: expect.stringMatching(
            /^runtime node-22\.23\.5-linux-x64 sha256 mismatch: manifest says [0-9a-f]{64}, got [0-9a-f]{64}$/,
          ),
        });
      } finally {
        await b.registry.put(a.key, original);
      }
      expect(await verifyPublished(b.registry, 'releases', 'fixture', '1.0.0', key.publicKey)).toMatchObject({
        ok: true,
      });
    });

    it('the signature covers the runtime: a manifest whose runtime sha256 was edited fails verification', async () => {
      const keys = releaseKeys('releases', 'fixture', '1.1.0');
      const bytes = (await b.registry.get(keys.manifest)) as Buffer;
      const m = JSON.parse(bytes.toString());
      m.runtime.artifacts.x64.sha256 = 'f'.repeat(64);
      await b.registry.put(keys.manifest, Buffer.from(`${JSON.stringify(m, null, 2)}\n`));
      try {
        const check = await verifyPublished(b.registry, 'releases', 'fixture', '1.1.0', key.publicKey);
        expect(check).toEqual({ ok: false, reason: expect.stringMatching(/signature/i) });
      } finally {
        await b.registry.put(keys.manifest, bytes);
      }
    });
  });
});

// `ferry publish` hands build's prepared runtime to publishRelease: the object uploaded is the cached file.
describeIf(requireTestRuntimes(), 'the packed runtime in the cache', () => {
  it('is byte for byte what publish uploads', async () => {
    const b = await openBackend('local');
    try {
      const config = withRuntime(
        { type: 'local', path: (b.registry as unknown as { root: string }).root, prefix: 'releases' },
        NODE_22,
      );
      const prepared = await prepareRuntime({ config, cacheDir: SHARED_FERRY_CACHE });
      const artifactPath = await syntheticArtifact(join(scratch, 'bytes'), { version: '3.0.0' });
      const r = await publishRelease({
        config,
        registry: b.registry,
        privateKeyPem: key.privateKeyPem,
        artifactPath,
        runtime: prepared,
      });
      const a = r.manifest.runtime?.artifacts.x64;
      const uploaded = await b.registry.get(a?.key ?? '');
      expect(uploaded?.equals(await readFile(prepared?.files.x64 as string))).toBe(true);
    } finally {
      await b.close();
    }
  });
});
