// What "a host in good order" means after a failure, checked on the filesystem: `current` names a
// complete release (its marker written), and nothing an interrupted run leaves behind is still there.
import { access, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostPaths } from '../../../pipeline/agent/host/paths';
import { RELEASE_MARKER } from '../../../pipeline/agent/install/releases';
import { httpGet } from '../../fixtures/agent-host';

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}

/** The version `current` points at, when that release is complete (marker present); else an error. */
export async function completeCurrent(paths: HostPaths): Promise<string> {
  const target = await readlink(paths.current);
  const m = /^releases\/([^/]+)$/.exec(target);
  if (!m?.[1]) throw new Error(`current points at ${target}, not at a release`);
  const marker = JSON.parse(await readFile(join(paths.root, target, RELEASE_MARKER), 'utf8')) as {
    version: string;
  };
  if (marker.version !== m[1]) throw new Error(`current's marker names ${marker.version}, not ${m[1]}`);
  if (!(await exists(join(paths.root, target, 'manifest.json'))))
    throw new Error(`${target} has no manifest.json`);
  return m[1];
}

/**
 * Debris an interrupted run may leave: tmp/ entries, current.tmp-* links, release folders without a
 * marker, a journal, a lock or half-made lock folders. Empty when the host is clean.
 */
export async function leftovers(paths: HostPaths): Promise<string[]> {
  const found: string[] = [];
  for (const n of await names(paths.tmp)) found.push(`.ferry/tmp/${n}`);
  for (const n of await names(paths.root)) if (n.startsWith('current.tmp-')) found.push(n);
  for (const n of await names(paths.releases)) {
    if (!(await exists(join(paths.releases, n, RELEASE_MARKER)))) found.push(`releases/${n} (no marker)`);
  }
  if (await exists(paths.journal)) found.push('.ferry/journal.json');
  if (await exists(paths.lock)) found.push('.ferry/lock');
  for (const n of await names(paths.ferry)) {
    if (n.startsWith('lock.new-') || n.startsWith('lock.old-')) found.push(`.ferry/${n}`);
  }
  return found;
}

/** The health path's status and the version /version reports, over fresh connections. */
export async function answers(port: number): Promise<{ health: number | null; version: string | null }> {
  const [h, v] = await Promise.all([httpGet(port, '/healthz'), httpGet(port, '/version')]);
  let version: string | null = null;
  if (v?.status === 200) version = (JSON.parse(v.body) as { version?: string }).version ?? null;
  return { health: h?.status ?? null, version };
}

export async function historyOf(paths: HostPaths): Promise<Record<string, unknown>[]> {
  const text = await readFile(paths.history, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
