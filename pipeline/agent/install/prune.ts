// Prune by rule, not by count alone: keep the N newest good installs, and never delete the release that
// is current, the previous one, the last good one or the one the supervisor is serving, however many
// failed deploys came after them. Also sweeps debris that interrupted runs left behind.
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkVersion } from '../../release/manifest';
import { isErrno } from '../host/fsutil';
import { type HostPaths, releaseDir } from '../host/paths';
import type { HostState } from '../host/state';
import { pruneRuntimes } from '../runtime/prune';
import { listReleases, readMarker, removeRelease } from './releases';

export interface PruneResult {
  removed: string[];
  kept: string[];
  protected: string[];
  debris: string[];
  /** Runtime directories removed: no release left pins them and nothing runs on them. */
  runtimesRemoved: string[];
}

export async function pruneReleases(
  paths: HostPaths,
  opts: {
    keep: number;
    state: HostState;
    current: string | null;
    serving: string | null;
    /** The node binary the serving generation runs on (supervisor.json), kept whatever happens. */
    servingNode?: string | null;
    /** The node binary the supervisor runs on: setup may have moved the agent to a newer runtime since. */
    supervisorNode?: string | null;
    debrisAgeSec: number;
  },
): Promise<PruneResult> {
  const releases = await listReleases(paths);
  const guarded = new Set(
    [opts.current, opts.state.previous, opts.state.lastGood, opts.serving].filter((v): v is string => !!v),
  );
  const newestFirst = [...releases].reverse();
  // The N slots go to the newest releases not marked bad: a failed release is never a rollback target,
  // so keeping it would only push out one that is.
  const keep = new Set(
    newestFirst
      .filter((r) => !opts.state.bad.includes(r.version))
      .slice(0, Math.max(0, opts.keep))
      .map((r) => r.version),
  );
  const removed: string[] = [];
  const kept: string[] = [];
  for (const r of newestFirst) {
    if (keep.has(r.version) || guarded.has(r.version)) {
      kept.push(r.version);
      continue;
    }
    await removeRelease(paths, r.version);
    removed.push(r.version);
  }
  const debris = await sweepDebris(paths, opts.debrisAgeSec * 1000, guarded);
  const runtimes = await pruneRuntimes(paths, {
    servingNode: opts.servingNode ?? null,
    supervisorNode: opts.supervisorNode ?? null,
    debrisBeforeMs: Date.now() - opts.debrisAgeSec * 1000,
  });
  return { removed, kept, protected: [...guarded], debris, runtimesRemoved: runtimes.removed };
}

/**
 * Leftovers older than maxAgeMs: tmp/ entries, current.tmp-* links, lock.new/old-* dirs, *.tmp-* state
 * files, and release directories without a marker (an install that never completed).
 */
export async function sweepDebris(
  paths: HostPaths,
  maxAgeMs: number,
  guarded = new Set<string>(),
): Promise<string[]> {
  const cutoff = Date.now() - maxAgeMs;
  const found: string[] = [];
  const consider = async (dir: string, match: (name: string) => boolean, minAgeMs = 0) => {
    const before = Math.min(cutoff, Date.now() - minAgeMs);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    for (const name of names) {
      if (!match(name)) continue;
      const path = join(dir, name);
      try {
        const st = await lstat(path);
        if (st.mtimeMs > before) continue;
        await rm(path, { recursive: true, force: true });
        found.push(path);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
  };
  await consider(paths.tmp, () => true);
  await consider(paths.root, (n) => n.startsWith('current.tmp-'));
  // The supervisor writes its own *.tmp-* files at any time, lock or not: only old ones are debris.
  await consider(
    paths.ferry,
    (n) => n.startsWith('lock.new-') || n.startsWith('lock.old-') || n.includes('.tmp-'),
    60_000,
  );
  let names: string[] = [];
  try {
    names = await readdir(paths.releases);
  } catch {
    names = [];
  }
  for (const name of names) {
    if (guarded.has(name) || checkVersion(name) !== null) continue;
    const dir = releaseDir(paths, name);
    if (await readMarker(dir)) continue;
    const st = await lstat(dir);
    if (st.mtimeMs > cutoff) continue;
    await rm(dir, { recursive: true, force: true });
    found.push(dir);
  }
  return found;
}
