// The switch: one rename(2) of a freshly made symlink over `current`. Readers see the old target or the
// new one, never a missing link (an rm + ln would leave a moment where `current` does not exist).
import { readlink, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { checkVersion } from '../../release/manifest';
import { fsyncDir, isErrno, randomSuffix } from '../host/fsutil';
import { crashIfAt } from '../host/journal';
import { currentLinkTarget, type HostPaths } from '../host/paths';

/** The version `current` points to, or null when there is no (valid) current link. */
export async function currentVersion(paths: HostPaths): Promise<string | null> {
  let target: string;
  try {
    target = await readlink(paths.current);
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'EINVAL')) return null;
    throw err;
  }
  const v = basename(target);
  return basename(dirname(target)) === 'releases' && checkVersion(v) === null ? v : null;
}

export async function switchCurrent(paths: HostPaths, version: string): Promise<void> {
  const tmp = join(paths.root, `current.tmp-${randomSuffix()}`);
  await symlink(currentLinkTarget(version), tmp);
  crashIfAt('mid-switch');
  try {
    await rename(tmp, paths.current);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(paths.root);
}

/** Undo of a first deploy: there is nothing to switch back to, so `current` goes away. */
export async function clearCurrent(paths: HostPaths): Promise<void> {
  await rm(paths.current, { force: true });
  await fsyncDir(paths.root);
}
