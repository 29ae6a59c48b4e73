// Which runtimes `ferry gc` may delete, on both registry backends: never one a published manifest of any
// app names (even a manifest that no longer parses), never a young one, and not one a release started
// using between the survey and the deletion.
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRegistry } from '../../../pipeline/registry/local';
import { deleteUnreferenced, surveyRuntimes } from '../../../pipeline/registry/runtime-gc';
import { releaseKeys, runtimeKey } from '../../../pipeline/release/layout';
import { type Backend, openBackend } from './backends';

const DAY = 86_400_000;
const sha = (c: string) => c.repeat(64);
const keyA = runtimeKey('releases', '22.23.5', 'x64', sha('a'));
const keyB = runtimeKey('releases', '22.23.5', 'arm64', sha('b'));
const keyOrphan = runtimeKey('releases', '20.20.2', 'x64', sha('c'));
const keyYoung = runtimeKey('releases', '24.22.3', 'x64', sha('d'));

const manifest = (app: string, version: string, keys: string[]) =>
  Buffer.from(
    JSON.stringify({
      schema: 1,
      name: app,
      version,
      runtime: {
        name: 'node',
        version: '22.23.5',
        artifacts: Object.fromEntries(keys.map((k, i) => [`a${i}`, { key: k }])),
      },
    }),
  );

describe.each(['local', 'oss'] as const)('runtime gc on the %s registry', (name) => {
  let b: Backend;
  beforeAll(async () => {
    b = await openBackend(name);
    for (const k of [keyA, keyB, keyOrphan, keyYoung]) await b.registry.put(k, Buffer.from(`runtime ${k}`));
    await b.registry.put(
      releaseKeys('releases', 'storage', '1.0.0').manifest,
      manifest('storage', '1.0.0', [keyA]),
    );
    await b.registry.put(
      releaseKeys('releases', 'storage', '1.1.0').manifest,
      manifest('storage', '1.1.0', [keyA]),
    );
    // Another app under the same prefix shares the runtimes folder.
    await b.registry.put(
      releaseKeys('releases', 'billing', '3.0.0').manifest,
      manifest('billing', '3.0.0', [keyB]),
    );
    // Not JSON any more, yet it still names keyYoung: protecting it is the safe reading.
    await b.registry.put(
      releaseKeys('releases', 'billing', '3.1.0').manifest,
      Buffer.from(`{"broken": "${keyYoung}"`),
    );
  });
  afterAll(() => b.close());

  it('keeps what any app uses and lists the rest', async () => {
    const s = await surveyRuntimes(b.registry, 'releases', {
      now: new Date(Date.now() + 2 * DAY),
      minAgeMs: DAY,
    });
    expect(s.manifests).toBe(4);
    expect(Object.fromEntries(s.runtimes.map((r) => [r.key, [r.status, r.usedBy]]))).toEqual({
      [keyA]: ['kept', ['storage 1.0.0', 'storage 1.1.0']],
      [keyB]: ['kept', ['billing 3.0.0']],
      [keyOrphan]: ['unreferenced', []],
      [keyYoung]: ['kept', ['billing 3.1.0']],
    });
  });

  it('keeps an unreferenced runtime younger than the grace period', async () => {
    const s = await surveyRuntimes(b.registry, 'releases', { now: new Date(), minAgeMs: DAY });
    expect(s.runtimes.find((r) => r.key === keyOrphan)?.status).toBe('recent');
    expect(await deleteUnreferenced(b.registry, 'releases', s, { now: new Date(), minAgeMs: DAY })).toEqual(
      [],
    );
  });

  it('does not delete a runtime that a release started using after the survey', async () => {
    const opts = { now: new Date(Date.now() + 2 * DAY), minAgeMs: DAY };
    const s = await surveyRuntimes(b.registry, 'releases', opts);
    const late = releaseKeys('releases', 'storage', '1.2.0').manifest;
    await b.registry.put(late, manifest('storage', '1.2.0', [keyOrphan]));
    expect(await deleteUnreferenced(b.registry, 'releases', s, opts)).toEqual([]);
    expect(await b.registry.head(keyOrphan)).not.toBeNull();
    await b.registry.delete(late);
  });

  it('deletes only the unreferenced old runtime', async () => {
    const opts = { now: new Date(Date.now() + 2 * DAY), minAgeMs: DAY };
    const s = await surveyRuntimes(b.registry, 'releases', opts);
    expect(await deleteUnreferenced(b.registry, 'releases', s, opts)).toEqual([keyOrphan]);
    expect((await b.registry.list('releases/runtimes/')).map((o) => o.key)).toEqual(
      [keyA, keyB, keyYoung].sort(),
    );
  });
});

describe('age comes from the registry', () => {
  it('an old object on the local registry is unreferenced with the default clock', async () => {
    const b = await openBackend('local');
    try {
      await b.registry.put(keyOrphan, Buffer.from('x'));
      const root = (b.registry as LocalRegistry).root;
      const old = new Date(Date.now() - 3 * DAY);
      await utimes(join(root, ...keyOrphan.split('/')), old, old);
      const s = await surveyRuntimes(b.registry, 'releases', { now: new Date(), minAgeMs: DAY });
      expect(s.runtimes.map((r) => r.status)).toEqual(['unreferenced']);
    } finally {
      await b.close();
    }
  });
});
