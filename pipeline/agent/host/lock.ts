// The host lock: a directory made atomically with its holder details already inside (built under a
// temporary name, then renamed into place), so there is never a lock without an owner to name.
// A lock whose holder is dead (same machine, pid gone) or whose expiry passed is broken, with a note.

import { mkdir, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AgentError } from '../errors';
import { isErrno, randomSuffix, readJson, writeJsonAtomic } from './fsutil';
import type { HostPaths } from './paths';
import { isProcessAlive } from './proc';
import { appendHistory } from './state';

export interface LockInfo {
  /** who/pid, e.g. "alice@laptop/4242". */
  holder: string;
  who: string;
  pid: number;
  /** The machine the agent runs on: a pid means something only there. */
  machine: string;
  op: string;
  version: string | null;
  since: string;
  expiresAt: string;
}

export interface HeldLock {
  info: LockInfo;
  /** Pushes expiresAt forward: a long, live deploy must not look abandoned. */
  refresh(): Promise<void>;
  release(): Promise<void>;
}

export async function readLock(paths: HostPaths): Promise<LockInfo | null> {
  try {
    return (await readJson<LockInfo>(paths.lockInfo)) ?? null;
  } catch {
    return null;
  }
}

function staleReason(info: LockInfo | null, now: number): string | null {
  if (!info) return 'lock has no readable holder details';
  if (Date.parse(info.expiresAt) <= now) return `lock held by ${info.holder} expired at ${info.expiresAt}`;
  if (info.machine === hostname() && !isProcessAlive(info.pid)) {
    return `lock holder ${info.holder} is no longer running`;
  }
  return null;
}

export async function acquireLock(
  paths: HostPaths,
  opts: { who: string; op: string; version: string | null; ttlSec: number },
): Promise<HeldLock> {
  const make = (): LockInfo => {
    const now = Date.now();
    return {
      holder: `${opts.who}/${process.pid}`,
      who: opts.who,
      pid: process.pid,
      machine: hostname(),
      op: opts.op,
      version: opts.version,
      since: new Date(now).toISOString(),
      expiresAt: new Date(now + opts.ttlSec * 1000).toISOString(),
    };
  };
  await mkdir(paths.ferry, { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    const info = make();
    const staging = join(paths.ferry, `lock.new-${randomSuffix()}`);
    await mkdir(staging);
    await writeJsonAtomic(join(staging, 'info.json'), info);
    try {
      await rename(staging, paths.lock);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      if (!isErrno(err, 'ENOTEMPTY', 'EEXIST', 'EISDIR')) throw err;
      const held = await readLock(paths);
      const reason = staleReason(held, Date.now());
      if (reason === null && held) {
        throw new AgentError(
          'locked',
          `host is locked by ${held.holder} (${held.op}${held.version ? ` ${held.version}` : ''}) since ${held.since}, expires ${held.expiresAt}`,
          { remedy: 'wait for that run to finish, or run `ferry unlock` if it is gone' },
        );
      }
      await breakLock(paths, opts.who, reason ?? 'stale lock');
      continue;
    }
    return {
      info,
      refresh: async () => {
        info.expiresAt = new Date(Date.now() + opts.ttlSec * 1000).toISOString();
        await writeJsonAtomic(paths.lockInfo, info);
      },
      release: async () => {
        const now = await readLock(paths);
        // Only remove our own lock: if it was broken and re-taken meanwhile, it is someone else's.
        if (now && now.pid === info.pid && now.since === info.since) await removeLockDir(paths);
      },
    };
  }
  throw new AgentError('locked', 'could not take the host lock after breaking a stale one', {
    remedy: 'another run raced for it; retry',
  });
}

/** Moves the lock away first (atomic), so a concurrent taker never sees a half-deleted lock. */
async function removeLockDir(paths: HostPaths) {
  const trash = join(paths.ferry, `lock.old-${randomSuffix()}`);
  try {
    await rename(paths.lock, trash);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  await rm(trash, { recursive: true, force: true });
}

export async function breakLock(paths: HostPaths, who: string, reason: string): Promise<LockInfo | null> {
  const held = await readLock(paths);
  await removeLockDir(paths);
  await appendHistory(paths, {
    who,
    op: 'unlock',
    version: held?.version ?? null,
    from: null,
    result: 'note',
    note: `broke the host lock: ${reason}`,
  });
  return held;
}
