// A runtime goes only when nothing can need it: no release left on disk pins it, the agent and the
// supervisor do not run on it, and the serving generation does not either.
import { lstat, readdir, realpath, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isErrno, randomSuffix } from '../host/fsutil';
import type { HostPaths } from '../host/paths';
import { listReleases, readMarker } from '../install/releases';
import { findRuntime, listRuntimes, readRuntimeMarker } from './layout';

export async function pruneRuntimes(
  paths: HostPaths,
  opts: { servingNode: string | null; supervisorNode?: string | null; debrisBeforeMs: number },
): Promise<{ removed: string[]; kept: string[] }> {
  const needed = new Set<string>();
  for (const r of await listReleases(paths)) {
    const marker = await readMarker(r.dir);
    if (!marker?.runtime) continue;
    const have = await findRuntime(paths, marker.runtime);
    if (have) needed.add(have.dir);
  }
  // A binary's runtime directory is two levels up (runtimes/<name>/bin/node).
  const runtimeOf = (node: string | null | undefined) => (node ? dirname(dirname(node)) : null);
  for (const link of [paths.agentRuntime, runtimeOf(opts.servingNode), runtimeOf(opts.supervisorNode)]) {
    if (!link) continue;
    try {
      needed.add(await realpath(link));
    } catch {
      // not set up (tests, process-mode hosts from before runtimes) or already gone
    }
  }
  const removed: string[] = [];
  const kept: string[] = [];
  for (const rt of await listRuntimes(paths)) {
    const real = await realpath(rt.dir).catch(() => rt.dir);
    if (needed.has(real)) {
      kept.push(rt.dir);
      continue;
    }
    // Out of runtimes/ in one rename, so a half-deleted runtime is never mistaken for a complete one.
    const trash = join(paths.tmp, `removed-runtime-${randomSuffix()}`);
    await rename(rt.dir, trash);
    await rm(trash, { recursive: true, force: true });
    removed.push(rt.dir);
  }
  // Interrupted installs: directories without a marker (it is written before the rename into place).
  let names: string[] = [];
  try {
    names = await readdir(paths.runtimes);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  for (const name of names) {
    const dir = join(paths.runtimes, name);
    if (await readRuntimeMarker(dir)) continue;
    const { mtimeMs } = await lstat(dir);
    if (mtimeMs > opts.debrisBeforeMs) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return { removed, kept };
}
