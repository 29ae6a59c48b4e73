// One deploy or rollback per environment at a time. The lock is an object in the registry, created with
// forbid-overwrite (x-oss-forbid-overwrite on OSS, O_EXCL locally), so taking it is one atomic write that
// every operator and CI job sees, wherever it runs. It names its holder and expires, so a cancelled CI job
// stops blocking after lockTtlSeconds without anyone running `ferry unlock`.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockedError, LockHeldError } from '../errors';
import { ExitCode } from '../exit-codes';
import { AlreadyExistsError, type Registry } from '../registry/registry';

export interface EnvLockInfo {
  env: string;
  who: string;
  op: string;
  version?: string | null;
  since: string;
  expiresAt: string;
  /** Distinguishes two holders with the same `who`, so release() never drops someone else's lock. */
  token: string;
}

export function envLockKey(prefix: string, app: string, env: string): string {
  return [prefix, app, 'locks', `${env}.json`].filter((p) => p.length > 0).join('/');
}

export async function readEnvLock(registry: Registry, key: string): Promise<EnvLockInfo | null> {
  const bytes = await registry.get(key);
  if (!bytes) return null;
  try {
    return JSON.parse(bytes.toString()) as EnvLockInfo;
  } catch {
    // An unreadable lock still blocks: someone must look at it (ferry unlock removes it).
    return {
      env: '?',
      who: 'unknown (unreadable lock file)',
      op: '?',
      since: '?',
      expiresAt: '9999',
      token: '',
    };
  }
}

export interface HeldLock {
  info: EnvLockInfo;
  /** Whether an expired lock was broken to take this one. */
  broke: EnvLockInfo | null;
  /**
   * Lets the lock go (only if it is still ours), retrying on its own budget on top of the registry's
   * per-call retries; a LockHeldError when it still cannot.
   */
  release(): Promise<void>;
}

/** Tries at releasing, and the first pause between them (doubling): about 7 s of registry trouble. */
export interface ReleaseBudget {
  attempts: number;
  delayMs: number;
}
export const RELEASE_BUDGET: ReleaseBudget = { attempts: 4, delayMs: 1000 };

/**
 * Where a run claims the right to break one expired lock (named by its token). Created with
 * forbid-overwrite, so of two runs that judged the same lock expired only one deletes it: with a plain
 * check-then-delete, the slower one could delete the lock the faster one had just taken.
 */
export function breakClaimKey(lockKey: string, token: string): string {
  return `${lockKey}.break-${token}`;
}

/** Every break claim of an environment's lock, for `ferry unlock`. */
export function breakClaimPrefix(lockKey: string): string {
  return `${lockKey}.break-`;
}

export async function acquireEnvLock(
  registry: Registry,
  key: string,
  want: { env: string; who: string; op: string; version?: string | null; ttlSeconds: number },
  now: () => number = Date.now,
  budget: ReleaseBudget = RELEASE_BUDGET,
): Promise<HeldLock> {
  let broke: EnvLockInfo | null = null;
  const claims: string[] = [];
  /** An expired lock another run has claimed to break (it should be gone in a moment). */
  let beingBroken: EnvLockInfo | null = null;
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const info: EnvLockInfo = {
        env: want.env,
        who: want.who,
        op: want.op,
        version: want.version ?? null,
        since: new Date(now()).toISOString(),
        expiresAt: new Date(now() + want.ttlSeconds * 1000).toISOString(),
        token: randomBytes(8).toString('hex'),
      };
      const body = Buffer.from(`${JSON.stringify(info)}\n`);
      try {
        await registry.put(key, body, { forbidOverwrite: true, contentType: 'application/json' });
        const release = () => releaseWithin(budget, want.env, () => releaseIfOurs(registry, key, info.token));
        return { info, broke, release };
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
      const held = await readEnvLock(registry, key);
      if (!held) continue; // released between our write and our read: try again
      if (Date.parse(held.expiresAt) > now()) throw lockedError(want.env, held);
      try {
        await registry.put(breakClaimKey(key, held.token), body, {
          forbidOverwrite: true,
          contentType: 'application/json',
        });
        claims.push(breakClaimKey(key, held.token));
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
        beingBroken = held;
        await sleep(CLAIM_WAIT_MS * (attempt + 1));
        continue;
      }
      // Only the claimant gets here. Still the same lock? (`ferry unlock` may have replaced it meanwhile.)
      const again = await readEnvLock(registry, key);
      if (again && again.token === held.token) {
        await registry.delete(key);
        broke = held;
      }
    }
    const held = await readEnvLock(registry, key);
    if (held && beingBroken && held.token === beingBroken.token) {
      throw new LockedError(
        `${want.env} is locked by ${held.who} since ${held.since}, expired ${held.expiresAt}, and is being broken by another run that has not finished`,
        { remedy: `run ferry unlock ${want.env} if that run is dead` },
      );
    }
    throw lockedError(
      want.env,
      held ?? { env: want.env, who: 'another run', op: '?', since: '?', expiresAt: '?', token: '' },
    );
  } finally {
    // After our own lock is in place (or we gave up): the claimed lock is gone, so is the need to claim it.
    for (const claim of claims) await registry.delete(claim).catch(() => undefined);
  }
}

/** How long a run waits, per attempt, for another run that claimed the break to finish it. */
const CLAIM_WAIT_MS = 200;

export function lockedError(env: string, held: EnvLockInfo): LockedError {
  const what = held.version ? `${held.op} ${held.version}` : held.op;
  return new LockedError(
    `${env} is locked by ${held.who} since ${held.since} (${what}; expires ${held.expiresAt})`,
    {
      remedy: `run ferry unlock ${env} if that run is dead`,
    },
  );
}

async function releaseWithin(budget: ReleaseBudget, env: string, once: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once();
    } catch (err) {
      if (attempt >= budget.attempts) throw new LockHeldError(env, (err as Error).message);
      await sleep(budget.delayMs * 2 ** (attempt - 1));
    }
  }
}

/** What a result says when its run could not let go of the lock (--json: `lock`). */
export interface LockNote {
  released: false;
  message: string;
  /** Why releasing failed. */
  error: string;
  remedy: string;
}

/** A run under the lock: its result, or what it threw. */
export interface LockedRun<T> {
  result?: T;
  failure?: unknown;
}

/**
 * Releases the lock after a run, from its `finally`. A lock that will not let go is never hidden: a run
 * that threw has its error wrapped (exit 7, the lock sentence after the run's own message); a run that
 * returned gets `lock` on its result and, when the result carries an exit code, exit 7.
 */
export async function releaseAfter<T extends { exitCode?: number; lock?: LockNote }>(
  lock: HeldLock,
  run: LockedRun<T>,
): Promise<void> {
  try {
    await lock.release();
  } catch (err) {
    if (!(err instanceof LockHeldError)) throw err;
    if (run.failure !== undefined) throw new LockHeldError(err.env, err.reason, { before: run.failure });
    if (!run.result) throw err;
    run.result.lock = { released: false, message: err.message, error: err.reason, remedy: err.remedy ?? '' };
    if (run.result.exitCode !== undefined) run.result.exitCode = ExitCode.LockHeld;
  }
}

async function releaseIfOurs(registry: Registry, key: string, token: string): Promise<void> {
  const held = await readEnvLock(registry, key);
  if (held?.token === token) await registry.delete(key);
}
