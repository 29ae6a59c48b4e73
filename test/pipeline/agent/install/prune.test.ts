// Prune rules on real directories: N newest good releases, plus current, previous, lastGood and what the
// supervisor serves, whatever failed after them; and old debris swept.
import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HostPaths, hostPaths } from '../../../../pipeline/agent/host/paths';
import type { HostState } from '../../../../pipeline/agent/host/state';
import { pruneReleases, sweepDebris } from '../../../../pipeline/agent/install/prune';
import { RELEASE_MARKER } from '../../../../pipeline/agent/install/releases';
import { pickRollbackTarget } from '../../../../pipeline/agent/install/rollback';

let root: string;
let paths: HostPaths;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ferry-prune-'));
  paths = hostPaths(root);
  await mkdir(paths.releases, { recursive: true });
  await mkdir(paths.tmp, { recursive: true });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Installs fake releases, oldest first, one minute apart. */
async function install(...versions: string[]) {
  let t = Date.parse('2026-01-01T00:00:00Z');
  for (const v of versions) {
    const dir = join(paths.releases, v);
    await mkdir(join(dir, 'app'), { recursive: true });
    await writeFile(join(dir, 'app', 'index.js'), '');
    await writeFile(
      join(dir, RELEASE_MARKER),
      JSON.stringify({ version: v, installedAt: new Date(t).toISOString() }),
    );
    t += 60_000;
  }
}

const state = (s: Partial<HostState>): HostState => ({ bad: [], lastGood: null, previous: null, ...s });
const left = async () => (await readdir(paths.releases)).sort();

describe('pruneReleases', () => {
  it('keeps the N newest when nothing failed', async () => {
    await install('1', '2', '3', '4');
    const r = await pruneReleases(paths, {
      keep: 2,
      state: state({ lastGood: '4', previous: '3' }),
      current: '4',
      serving: '4',
      debrisAgeSec: 60,
    });
    expect(r.removed.sort()).toEqual(['1', '2']);
    expect(await left()).toEqual(['3', '4']);
  });

  it('after a run of failed deploys keeps current, previous and lastGood, and drops the failed ones', async () => {
    // 1 and 2 were good; 3, 4, 5 failed their gate (bad) and were switched back from.
    await install('1', '2', '3', '4', '5');
    const s = state({ bad: ['3', '4', '5'], lastGood: '2', previous: '1' });
    const r = await pruneReleases(paths, { keep: 1, state: s, current: '2', serving: '2', debrisAgeSec: 60 });
    expect(r.removed.sort()).toEqual(['3', '4', '5']);
    expect(await left()).toEqual(['1', '2']);
  });

  it('never deletes the release the supervisor still serves, nor a lastGood that is not current', async () => {
    await install('1', '2', '3', '4');
    const s = state({ lastGood: '1', previous: '3' });
    await pruneReleases(paths, { keep: 1, state: s, current: '4', serving: '2', debrisAgeSec: 60 });
    expect(await left()).toEqual(['1', '2', '3', '4']);
  });

  it('sweeps old debris but not fresh files of a live run', async () => {
    await install('1');
    const old = new Date(Date.now() - 3600_000);
    await writeFile(join(paths.tmp, 'download-old.tar.gz'), 'x');
    await utimes(join(paths.tmp, 'download-old.tar.gz'), old, old);
    await writeFile(join(paths.tmp, 'download-new.tar.gz'), 'x');
    await symlink('releases/1', join(root, 'current.tmp-abc'));
    await mkdir(join(paths.releases, '9'));
    await utimes(join(paths.releases, '9'), old, old);
    await utimes(join(paths.tmp), old, old);
    const swept = await sweepDebris(paths, 600 * 1000);
    expect(swept.map((p) => p.slice(root.length + 1)).sort()).toEqual([
      '.ferry/tmp/download-old.tar.gz',
      'releases/9',
    ]);
    expect(await readdir(paths.tmp)).toEqual(['download-new.tar.gz']);
  });
});

describe('pickRollbackTarget', () => {
  const rel = (v: string, minute: number) => ({
    version: v,
    installedAt: `2026-01-01T00:${String(minute).padStart(2, '0')}:00Z`,
    dir: '',
  });
  const releases = [rel('1', 1), rel('2', 2), rel('3', 3), rel('4', 4)];

  it('takes previous when it is good', () => {
    expect(pickRollbackTarget(state({ previous: '2' }), releases, '4')).toBe('2');
  });

  it('skips a bad previous and bad older releases, walking back by install time', () => {
    expect(pickRollbackTarget(state({ previous: '3', bad: ['3', '2'] }), releases, '4')).toBe('1');
  });

  it('never returns current, a bad release or one not on disk', () => {
    expect(pickRollbackTarget(state({ previous: '7', bad: ['1', '2', '3'] }), releases, '4')).toBeNull();
    expect(pickRollbackTarget(state({ previous: '4' }), releases, '4')).toBe('3');
  });
});
