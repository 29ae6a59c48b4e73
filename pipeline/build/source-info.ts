// What the build records about its source: the commit and the commit's time. The time (not "now") stamps
// every file and the manifest, which is what makes two builds of one commit byte-identical.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors';

export interface SourceInfo {
  commit: string | null;
  /** Seconds since the epoch: SOURCE_DATE_EPOCH, else the commit time, else 0. */
  epoch: number;
}

export function sourceInfo(root: string, env: Record<string, string | undefined>): SourceInfo {
  const commit = git(root, ['rev-parse', '--verify', 'HEAD']);
  let epoch = 0;
  const sde = env.SOURCE_DATE_EPOCH;
  if (sde !== undefined && sde !== '') {
    if (!/^\d{1,12}$/.test(sde)) {
      throw new ConfigError(`SOURCE_DATE_EPOCH must be whole seconds since 1970, got "${sde}"`, {
        remedy: 'unset it, or set it to e.g. $(git log -1 --format=%ct)',
      });
    }
    epoch = Number(sde);
  } else if (commit !== null) {
    epoch = Number(git(root, ['log', '-1', '--format=%ct', 'HEAD']) ?? 0);
  }
  return { commit, epoch };
}

/**
 * The version used when none is given: package.json's version plus the short commit ("0.1.0-3f2a9c1"), so
 * every commit gets its own immutable version; just package.json's version outside git.
 */
export function defaultVersion(root: string, commit: string | null): string {
  const pkgFile = join(root, 'package.json');
  let base = '0.0.0';
  if (existsSync(pkgFile)) {
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string' && pkg.version !== '') base = pkg.version;
  }
  return commit === null ? base : `${base}-${commit.slice(0, 7)}`;
}

function git(cwd: string, args: string[]): string | null {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const out = r.status === 0 ? r.stdout.trim() : '';
  return out === '' ? null : out;
}
