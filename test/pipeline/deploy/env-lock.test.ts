// The environment lock on both real registry backends (a folder, and the strict OSS-protocol server):
// two runs racing to break one expired lock, release() leaving someone else's lock alone, and a release
// that fails past its own retries being said, never hidden.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acquireEnvLock,
  envLockKey,
  type HeldLock,
  type LockedRun,
  type LockNote,
  readEnvLock,
  releaseAfter,
} from '../../../pipeline/deploy/env-lock';
import { FerryError, LockedError, LockHeldError } from '../../../pipeline/errors';
import { ExitCode } from '../../../pipeline/exit-codes';
import type { Registry } from '../../../pipeline/registry/registry';
import { type Backend, openBackend } from '../registry/backends';

const ENV = 'production';
const KEY = envLockKey('releases', 'shop', ENV);
const FAST = { attempts: 3, delayMs: 10 };
const want = (who: string) => ({ env: ENV, who, op: 'deploy', version: '1.0.0', ttlSeconds: 900 });
/** A lock whose holder died an hour ago: expired, so the next run may break it. */
const plantExpired = (registry: Registry) =>
  acquireEnvLock(registry, KEY, { ...want('ci:dead-job'), ttlSeconds: 60 }, () => Date.now() - 3_600_000);

/**
 * The real registry, with one write (put or delete) held back until the test lets it go: how a test
 * pins down the moment between a run deciding to break a lock and its doing so.
 */
function holdingWrite(inner: Registry, n: number) {
  let writes = 0;
  let reached!: () => void;
  let open!: () => void;
  const atHold = new Promise<void>((r) => {
    reached = r;
  });
  const opened = new Promise<void>((r) => {
    open = r;
  });
  const gate = async () => {
    if (++writes === n) {
      reached();
      await opened;
    }
  };
  const registry: Registry = {
    description: inner.description,
    get: (k) => inner.get(k),
    head: (k) => inner.head(k),
    list: (p) => inner.list(p),
    download: (k, d) => inner.download(k, d),
    presign: (k, o) => inner.presign(k, o),
    putFile: (k, p, o) => inner.putFile(k, p, o),
    put: async (k, b, o) => {
      await gate();
      return inner.put(k, b, o);
    },
    delete: async (k) => {
      await gate();
      return inner.delete(k);
    },
  };
  return { registry, atHold, open };
}

describe.each(['local', 'oss'] as const)('the environment lock on the %s registry', (name) => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await openBackend(name);
  });
  afterAll(() => backend?.close());
  const clean = async () => {
    for (const o of await backend.registry.list('releases/shop/locks/')) await backend.registry.delete(o.key);
  };

  it('two runs breaking the same expired lock: one takes it, the other is told who holds it', async () => {
    await clean();
    await plantExpired(backend.registry);
    // B judges the lock expired, then is held back just before its next write (the break).
    const b = holdingWrite(backend.registry, 2);
    const runB = acquireEnvLock(b.registry, KEY, want('ci:run-b'));
    await b.atHold;
    // Meanwhile A breaks the expired lock and takes it.
    const a = await acquireEnvLock(backend.registry, KEY, want('ci:run-a'));
    expect(a.broke?.who).toBe('ci:dead-job');
    b.open();
    const outcomeB = await runB.then(
      (held) => held,
      (err: unknown) => err,
    );
    expect(outcomeB).toBeInstanceOf(LockedError);
    expect((outcomeB as LockedError).message).toMatch(/^production is locked by ci:run-a since /);
    expect((await readEnvLock(backend.registry, KEY))?.token).toBe(a.info.token);
    await a.release();
    // Nothing is left behind by the break: the lock key is gone and no claim blocks the next break.
    expect(await backend.registry.list('releases/shop/locks/')).toEqual([]);
  });

  it('two runs racing for an expired lock at once: exactly one holds it', async () => {
    await clean();
    await plantExpired(backend.registry);
    const results = await Promise.allSettled([
      acquireEnvLock(backend.registry, KEY, want('ci:run-a')),
      acquireEnvLock(backend.registry, KEY, want('ci:run-b')),
    ]);
    const held = results.filter((r) => r.status === 'fulfilled').map((r) => r.value as HeldLock);
    const refused = results.filter((r) => r.status === 'rejected').map((r) => r.reason as Error);
    expect(held).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(LockedError);
    expect(refused[0]?.message).toContain(`locked by ${held[0]?.info.who}`);
    expect((await readEnvLock(backend.registry, KEY))?.token).toBe(held[0]?.info.token);
    await held[0]?.release();
  });

  it('a claim left by a run that died mid-break makes the next run say so and name the remedy', async () => {
    await clean();
    await plantExpired(backend.registry);
    // A breaker that died after claiming the break, before deleting the lock.
    const b = holdingWrite(backend.registry, 3);
    const dying = acquireEnvLock(b.registry, KEY, want('ci:dies'));
    await b.atHold;
    const next = await acquireEnvLock(backend.registry, KEY, want('ci:next'), Date.now, FAST).then(
      () => null,
      (err: unknown) => err as LockedError,
    );
    expect(next).toBeInstanceOf(LockedError);
    expect(next?.message).toMatch(/being broken by another run/);
    expect(next?.remedy).toBe(`run ferry unlock ${ENV} if that run is dead`);
    b.open();
    await (await dying).release();
  });

  it("release() leaves someone else's lock alone", async () => {
    await clean();
    const first = await acquireEnvLock(backend.registry, KEY, want('ci:first'));
    // `ferry unlock` removed it (its holder looked dead), and another run took the lock since.
    await backend.registry.delete(KEY);
    const second = await acquireEnvLock(backend.registry, KEY, want('ci:second'));
    await first.release();
    expect((await readEnvLock(backend.registry, KEY))?.token).toBe(second.info.token);
    await second.release();
    expect(await readEnvLock(backend.registry, KEY)).toBeNull();
  });
});

describe('a lock release that keeps failing', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await openBackend('oss');
  });
  afterAll(() => backend?.close());
  const oss = () => backend.oss as NonNullable<Backend['oss']>;

  it('retries on its own budget, beyond the registry retries, and lets go once the registry heals', async () => {
    const lock = await acquireEnvLock(backend.registry, KEY, want('ci:a'), Date.now, FAST);
    // Each registry GET gives up after 5 corrupted answers; the release's second try gets through.
    oss().faults.corruptNext(5, { key: KEY });
    await lock.release();
    expect(oss().faults.remaining().corrupt).toBe(0);
    expect(oss().getObject(KEY)).toBeUndefined();
  });

  it('says the lock is still held when the budget runs out: LockHeldError, exit 7', async () => {
    const lock = await acquireEnvLock(backend.registry, KEY, want('ci:a'), Date.now, FAST);
    oss().faults.corruptNext(1000, { key: KEY });
    try {
      const err = await lock.release().then(
        () => null,
        (e: unknown) => e as LockHeldError,
      );
      expect(err).toBeInstanceOf(LockHeldError);
      expect(err?.exitCode).toBe(ExitCode.LockHeld);
      expect(err?.message).toBe(
        `the deploy lock on ${ENV} is still held by this run; run \`ferry unlock ${ENV}\``,
      );
      expect(err?.remedy).toMatch(/releasing failed: .*corrupted/);
      expect(oss().getObject(KEY)).toBeDefined();
    } finally {
      oss().faults.clear();
      await backend.registry.delete(KEY);
    }
  });

  it('releaseAfter marks a returned result (exit 7) and puts the lock sentence after a thrown error', async () => {
    const stuck = async () => {
      const lock = await acquireEnvLock(backend.registry, KEY, want('ci:a'), Date.now, FAST);
      oss().faults.corruptNext(1000, { key: KEY });
      return lock;
    };
    try {
      const returned: LockedRun<{ exitCode: number; lock?: LockNote }> = {
        result: { exitCode: ExitCode.Unhealthy },
      };
      await releaseAfter(await stuck(), returned);
      expect(returned.result).toMatchObject({
        exitCode: ExitCode.LockHeld,
        lock: { released: false, message: expect.stringContaining(`ferry unlock ${ENV}`) },
      });

      oss().faults.clear();
      await backend.registry.delete(KEY);
      const thrown: LockedRun<{ exitCode: number }> = {
        failure: new FerryError('OSS PUT environments/production.json failed', {
          remedy: 'rerunning is safe',
        }),
      };
      const err = await releaseAfter(await stuck(), thrown).then(
        () => null,
        (e: unknown) => e as LockHeldError,
      );
      expect(err).toBeInstanceOf(LockHeldError);
      expect(err?.message).toBe(
        `OSS PUT environments/production.json failed\nthe deploy lock on ${ENV} is still held by this run; run \`ferry unlock ${ENV}\``,
      );
      expect(err?.remedy).not.toMatch(/rerunning is safe/);
    } finally {
      oss().faults.clear();
      await backend.registry.delete(KEY);
    }
  });
});
