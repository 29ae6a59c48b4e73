// One deploy or rollback per environment at a time. The lock is an object in the registry, created with
// forbid-overwrite (x-oss-forbid-overwrite on OSS, O_EXCL locally), so taking it is one atomic write that
// every operator and CI job sees, wherever it runs. It names its holder and expires, so a cancelled CI job
// stops blocking after lockTtlSeconds without anyone running `ferry unlock`.
import { randomBytes } from 'node:crypto';
import { LockedError } from '../errors';
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
  release(): Promise<void>;
}

export async function acquireEnvLock(
  registry: Registry,
  key: string,
  want: { env: string; who: string; op: string; version?: string | null; ttlSeconds: number },
  now: () => number = Date.now,
): Promise<HeldLock> {
  let broke: EnvLockInfo | null = null;
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
    try {
      await registry.put(key, Buffer.from(`${JSON.stringify(info)}\n`), {
        forbidOverwrite: true,
        contentType: 'application/json',
      });
      return { info, broke, release: () => releaseIfOurs(registry, key, info.token) };
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
    const held = await readEnvLock(registry, key);
    if (!held) continue; // released between our write and our read: try again
    if (Date.parse(held.expiresAt) > now()) throw lockedError(want.env, held);
    // Expired: break it only if it is still the same lock we judged, so two runs that both saw it
    // expire cannot delete each other's fresh lock (the second one's put then fails and it re-reads).
    const again = await readEnvLock(registry, key);
    if (again && again.token === held.token) {
      await registry.delete(key);
      broke = held;
    }
  }
  const held = await readEnvLock(registry, key);
  throw lockedError(
    want.env,
    held ?? { env: want.env, who: 'another run', op: '?', since: '?', expiresAt: '?', token: '' },
  );
}

export function lockedError(env: string, held: EnvLockInfo): LockedError {
  const what = held.version ? `${held.op} ${held.version}` : held.op;
  return new LockedError(
    `${env} is locked by ${held.who} since ${held.since} (${what}; expires ${held.expiresAt})`,
    {
      remedy: `run ferry unlock ${env} if that run is dead`,
    },
  );
}

async function releaseIfOurs(registry: Registry, key: string, token: string): Promise<void> {
  const held = await readEnvLock(registry, key);
  if (held?.token === token) await registry.delete(key);
}
