import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEnvRecords, readEnvRecord, writeEnvRecord } from '../../../pipeline/registry/env-record';
import type { Registry } from '../../../pipeline/registry/registry';
import { type IndexEntry, readIndex, updateIndex } from '../../../pipeline/registry/release-index';
import { environmentKey, indexKey, releaseKeys } from '../../../pipeline/release/layout';
import { MANIFEST_SCHEMA, serializeManifest } from '../../../pipeline/release/manifest';
import { type Backend, openBackend } from './backends';

function entry(version: string, publishedAt: string): IndexEntry {
  return { version, publishedAt, size: 10, sha256: 'a'.repeat(64), commit: null };
}

/** What publish does before touching the index: the manifest is the last release file written. */
async function writeManifest(registry: Registry, app: string, version: string) {
  const manifest = serializeManifest({
    schema: MANIFEST_SCHEMA,
    name: app,
    version,
    commit: 'c0ffee',
    buildTime: '2024-01-01T00:00:00.000Z',
    node: '>=20',
    entry: 'app/index.js',
    files: [],
    artifact: { file: `${app}-${version}.tar.gz`, size: 42, sha256: 'b'.repeat(64) },
  });
  await registry.put(releaseKeys('rel', app, version).manifest, manifest, { forbidOverwrite: true });
}

describe.each(['local', 'oss'] as const)('index.json on the %s registry', (name) => {
  let b: Backend;
  beforeAll(async () => {
    b = await openBackend(name);
  });
  afterAll(() => b.close());

  it('keeps every version when publishers race on the read-modify-write', async () => {
    const versions = Array.from({ length: 8 }, (_, i) => `1.0.${i}`);
    await Promise.all(
      versions.map(async (v, i) => {
        await writeManifest(b.registry, 'race', v);
        await updateIndex(b.registry, 'rel', 'race', entry(v, `2024-01-01T00:00:0${i}.000Z`));
      }),
    );
    const index = await readIndex(b.registry, 'rel', 'race');
    expect(index.versions.map((v) => v.version).sort()).toEqual(versions);
    const times = index.versions.map((v) => v.publishedAt);
    expect(times).toEqual([...times].sort().reverse()); // newest first
  });

  it('repairs an index that lost versions, reading them from their manifests', async () => {
    await writeManifest(b.registry, 'heal', '2.0.0');
    await writeManifest(b.registry, 'heal', '2.0.1');
    await b.registry.put(
      indexKey('rel', 'heal'),
      Buffer.from('{"schema":1,"app":"heal","updatedAt":"x","versions":[]}'),
    );
    const index = await updateIndex(b.registry, 'rel', 'heal', entry('2.0.1', '2030-01-01T00:00:00.000Z'));
    expect(index.versions.map((v) => [v.version, v.size, v.commit])).toEqual([
      ['2.0.1', 10, null],
      ['2.0.0', 42, 'c0ffee'],
    ]);
    // A version whose manifest was removed drops out on the next update.
    await b.registry.delete(releaseKeys('rel', 'heal', '2.0.0').manifest);
    await writeManifest(b.registry, 'heal', '2.0.2');
    const after = await updateIndex(b.registry, 'rel', 'heal', entry('2.0.2', '2031-01-01T00:00:00.000Z'));
    expect(after.versions.map((v) => v.version)).toEqual(['2.0.2', '2.0.1']);
  });

  it('records which release each environment runs', async () => {
    await writeEnvRecord(b.registry, 'rel', 'envs', {
      env: 'production',
      version: '1.0.0',
      updatedAt: '2024-01-01T00:00:00Z',
      by: 'ci',
    });
    await writeEnvRecord(b.registry, 'rel', 'envs', {
      env: 'production',
      version: '1.0.1',
      previous: '1.0.0',
      updatedAt: '2024-01-02T00:00:00Z',
      by: 'ci',
    });
    await writeEnvRecord(b.registry, 'rel', 'envs', {
      env: 'staging',
      version: '1.0.1',
      updatedAt: 'x',
      by: 'me',
    });
    await b.registry.put(environmentKey('rel', 'envs', 'broken'), Buffer.from('{nope'));
    expect(await readEnvRecord(b.registry, 'rel', 'envs', 'production')).toEqual({
      env: 'production',
      version: '1.0.1',
      previous: '1.0.0',
      updatedAt: '2024-01-02T00:00:00Z',
      by: 'ci',
    });
    expect((await listEnvRecords(b.registry, 'rel', 'envs')).map((r) => `${r.env}=${r.version}`)).toEqual([
      'production=1.0.1',
      'staging=1.0.1',
    ]);
    expect(await readEnvRecord(b.registry, 'rel', 'envs', 'nope')).toBeNull();
  });
});
