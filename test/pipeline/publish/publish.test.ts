import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BuildResult, buildRelease } from '../../../pipeline/build/build';
import { loadConfig } from '../../../pipeline/config/load';
import type { RegistryConfig } from '../../../pipeline/config/resolve';
import { ConfigError, FerryError, UsageError, VerificationError } from '../../../pipeline/errors';
import { ExitCode } from '../../../pipeline/exit-codes';
import { publishRelease } from '../../../pipeline/publish/publish';
import { verifyPublished } from '../../../pipeline/publish/verify';
import { readIndex } from '../../../pipeline/registry/release-index';
import { releaseKeys } from '../../../pipeline/release/layout';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';
import { FAKE_ACCESS_KEY_ID } from '../../fixtures/fake-credentials';
import { artifactKeyOf } from '../../fixtures/releases';
import { type FixtureApp, makeFixtureApp } from '../build/fixture-app';
import { type Backend, openBackend, ossConfig, ossRegistryFor } from '../registry/backends';
import { configFor, syntheticArtifact } from './synthetic';

const key = generateSigningKeyPair();
const SDE = { SOURCE_DATE_EPOCH: '1700000000' };
const cleanups: (() => Promise<void>)[] = [];
let scratch: string;
let built: BuildResult; // 1.0.0, with a 300 KiB asset so it can go up in parts
let rebuilt: BuildResult; // 1.0.0 again, from different source: a conflicting artifact

async function buildFixture(message: string, out: string): Promise<BuildResult> {
  const f: FixtureApp = await makeFixtureApp({ message, blobBytes: 300 * 1024 });
  cleanups.push(f.cleanup);
  return buildRelease({
    config: loadConfig({ cwd: f.root, env: {} }),
    env: SDE,
    version: '1.0.0',
    outDir: out,
  });
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ferry-publish-'));
  built = await buildFixture('first', join(scratch, 'a'));
  rebuilt = await buildFixture('second', join(scratch, 'b'));
});
afterAll(async () => {
  for (const c of cleanups) await c();
  await rm(scratch, { recursive: true, force: true });
});

describe.each(['local', 'oss'] as const)('publish to the %s registry', (name) => {
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
  afterEach(() => b.oss?.faults.clear());

  const publish = (artifactPath: string, extra: Partial<Parameters<typeof publishRelease>[0]> = {}) =>
    publishRelease({
      config: configFor(registryConfig, key.publicKey),
      registry: b.registry,
      privateKeyPem: key.privateKeyPem,
      artifactPath,
      ...extra,
    });

  it('uploads artifact, signature, then manifest, then the index; the result verifies', async () => {
    b.oss?.resetStats();
    const r = await publish(built.path);
    expect(r.status).toBe('published');
    expect(r.sha256).toBe(built.sha256);
    const keys = releaseKeys('releases', 'fixture', '1.0.0');
    if (b.oss) {
      const puts = b.oss.log.filter((e) => e.method === 'PUT' && e.status === 200).map((e) => e.key);
      expect(puts).toEqual([
        artifactKeyOf('releases', 'fixture', '1.0.0'),
        keys.sourceMap,
        keys.signature,
        keys.manifest,
        'releases/fixture/index.json',
      ]);
    }
    expect(await verifyPublished(b.registry, 'releases', 'fixture', '1.0.0', key.publicKey)).toMatchObject({
      ok: true,
    });
    const index = await readIndex(b.registry, 'releases', 'fixture');
    expect(index.versions).toEqual([
      {
        version: '1.0.0',
        publishedAt: expect.any(String),
        size: built.size,
        sha256: built.sha256,
        commit: null,
      },
    ]);
  });

  it('is a no-op when the identical release is published again', async () => {
    b.oss?.resetStats();
    const r = await publish(built.path);
    expect(r.status).toBe('unchanged');
    if (b.oss) expect(b.oss.log.filter((e) => e.method === 'PUT')).toEqual([]);
  });

  it('refuses a different artifact under a published version (exit 1)', async () => {
    const err = await publish(rebuilt.path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).exitCode).toBe(ExitCode.Failure);
    expect((err as Error).message).toMatch(/version 1\.0\.0 is already published with different contents/);
    expect((err as FerryError).remedy).toMatch(/immutable/);
    expect(await verifyPublished(b.registry, 'releases', 'fixture', '1.0.0', key.publicKey)).toMatchObject({
      ok: true,
    });
  });

  it('finishes a publish that was interrupted after the artifact upload', async () => {
    const path = await syntheticArtifact(join(scratch, name), { version: '1.1.0' });
    await publish(path);
    const keys = releaseKeys('releases', 'fixture', '1.1.0');
    await b.registry.delete(keys.manifest);
    await b.registry.delete(keys.signature);
    const r = await publish(path);
    expect(r.status).toBe('published');
    expect((await readIndex(b.registry, 'releases', 'fixture')).versions.map((v) => v.version)).toEqual([
      '1.1.0',
      '1.0.0',
    ]);
  });

  it('publishes a .tar.gz from a ferry build before brotli under its own name, and it verifies', async () => {
    const path = await syntheticArtifact(join(scratch, name), { version: '1.2.0', format: 'gzip' });
    expect(path).toMatch(/fixture-1\.2\.0\.tar\.gz$/);
    const r = await publish(path);
    expect(r.manifest.artifact?.file).toBe('fixture-1.2.0.tar.gz');
    expect(r.keys.artifact).toBe('releases/fixture/1.2.0/fixture-1.2.0.tar.gz');
    expect(await b.registry.head(artifactKeyOf('releases', 'fixture', '1.2.0', 'brotli'))).toBeNull();
    expect(await verifyPublished(b.registry, 'releases', 'fixture', '1.2.0', key.publicKey)).toMatchObject({
      ok: true,
      manifest: { artifact: { file: 'fixture-1.2.0.tar.gz' } },
    });
  });

  it('refuses an artifact named neither .tar.br nor .tar.gz (usage, exit 2), or whose bytes its name misstates', async () => {
    const path = await syntheticArtifact(join(scratch, name, 'odd'), { version: '1.3.0' });
    const odd = join(scratch, name, 'odd', 'fixture-1.3.0.tgz');
    await writeFile(odd, await readFile(path));
    const err = await publish(odd).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
      'fixture-1.3.0.tgz is neither a .tar.br nor a .tar.gz (ferry build writes <app>-<version>.tar.br)',
    );
    const lying = join(scratch, name, 'odd', 'fixture-1.3.0.tar.gz');
    await writeFile(lying, await readFile(path));
    const wrong = await publish(lying).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(FerryError);
    expect((wrong as Error).message).toMatch(
      /fixture-1\.3\.0\.tar\.gz is not a ferry release artifact: not a gzip archive/,
    );
    expect(await b.registry.list('releases/fixture/1.3.0/')).toEqual([]);
  });

  it('refuses a signing key that does not match signing.publicKey, before uploading', async () => {
    const other = generateSigningKeyPair();
    const path = await syntheticArtifact(join(scratch, name), { version: '2.0.0' });
    const err = await publish(path, { privateKeyPem: other.privateKeyPem }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/does not match signing\.publicKey.*hosts would reject/);
    expect(await b.registry.list('releases/fixture/2.0.0/')).toEqual([]);
  });

  it('refuses an artifact carrying a credential, naming file and line, before uploading', async () => {
    const path = await syntheticArtifact(join(scratch, name), {
      version: '2.1.0',
      files: { 'app/index.js': `ok();\nconst id = "${FAKE_ACCESS_KEY_ID}";\n`, 'app/.env': 'SECRET=1\n' },
    });
    const err = await publish(path).catch((e: unknown) => e);
    expect((err as Error).message).toContain(
      'app/index.js:2:13: looks like an Alibaba Cloud AccessKey id (LTAI5t…)',
    );
    expect((err as Error).message).toContain('app/.env:1:1: is a .env file');
    expect(await b.registry.list('releases/fixture/2.1.0/')).toEqual([]);
  });

  it('refuses an artifact whose files no longer match its manifest (exit 5)', async () => {
    const path = await syntheticArtifact(join(scratch, name), {
      version: '2.2.0',
      manifestPatch: { files: [{ path: 'app/index.js', size: 3, sha256: 'f'.repeat(64) }] },
    });
    const err = await publish(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as VerificationError).exitCode).toBe(ExitCode.Verification);
  });

  it('refuses an artifact without its source map beside it, or with another map, and uploads nothing', async () => {
    const dir = join(scratch, name, 'maps');
    const path = await syntheticArtifact(dir, { version: '2.3.0', sourceMap: '{"version":3,"sources":[]}' });
    const keys = releaseKeys('releases', 'fixture', '2.3.0');
    const mapFile = join(dir, 'fixture-2.3.0.js.map.gz');

    await writeFile(mapFile, gzipSync('{"version":3,"sources":["other"]}'));
    const wrong = await publish(path).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(VerificationError);
    expect((wrong as Error).message).toBe(`${mapFile} is not the source map this artifact was built with`);

    await rm(mapFile);
    const missing = await publish(path).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FerryError);
    expect((missing as FerryError).exitCode).toBe(ExitCode.Failure);
    expect((missing as Error).message).toBe(`the source map ${mapFile} is missing`);
    expect((missing as FerryError).remedy).toMatch(/writes fixture-2\.3\.0\.js\.map\.gz beside the artifact/);

    for (const k of [artifactKeyOf('releases', 'fixture', '2.3.0'), keys.sourceMap, keys.manifest])
      expect(await b.registry.head(k)).toBeNull();
  });
});

describe('publish to OSS over a flaky link', () => {
  let b: Backend;
  beforeAll(async () => {
    b = await openBackend('oss');
  });
  afterAll(() => b.close());

  it('uploads a large artifact in parts through 503s and resets', async () => {
    const oss = b.oss!;
    oss.faults.failNext(2, 503, { op: 'UploadPart' });
    oss.faults.failNext(1, 503, { op: 'PutObject', key: 'releases/fixture/1.0.0/manifest.json' });
    oss.faults.resetNext(1, {
      op: 'PutObject',
      key: 'releases/fixture/1.0.0/manifest.json.sig',
      afterBytes: 0,
    });
    const progress: number[] = [];
    const r = await publishRelease({
      config: configFor(ossConfig(oss), key.publicKey),
      registry: ossRegistryFor(oss),
      privateKeyPem: key.privateKeyPem,
      artifactPath: built.path,
      multipartThreshold: 100 * 1024,
      partSize: 100 * 1024,
      onProgress: (sent) => progress.push(sent),
    });
    expect(r.status).toBe('published');
    expect(built.size).toBeGreaterThan(300 * 1024);
    expect(oss.getObject(r.keys.artifact)?.type).toBe('Multipart');
    expect(oss.getObject(r.keys.artifact)?.body.length).toBe(built.size);
    expect(oss.log.filter((e) => e.op === 'UploadPart' && e.fault)).toHaveLength(2);
    expect(oss.faults.remaining()).toEqual({ fail: 0, reset: 0, corrupt: 0 });
    expect(oss.uploads().size).toBe(0);
    expect(progress.at(-1)).toBe(built.size);
    expect(await verifyPublished(b.registry, 'releases', 'fixture', '1.0.0', key.publicKey)).toMatchObject({
      ok: true,
    });
  });
});
