// Tests that need a system tool skip where it is missing, naming the Debian package to install,
// except in CI, where a missing tool is a broken image and must fail the run. "In CI" is what CI services
// set: CI to any non-empty value other than false/0 (.ci/run exports CI=true itself).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe } from 'vitest';

export interface Requirement {
  available: boolean;
  /** Why it is unavailable and how to fix it; set only when unavailable. */
  reason?: string;
}

// sbin dirs are often missing from a non-root PATH, yet that is where sshd and friends live.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** name: an absolute path (`/usr/sbin/sshd`) or a command looked up on PATH (`systemd-analyze`). */
export function requireTool(name: string, pkg: string): Requirement {
  const found = name.includes('/')
    ? executable(name)
    : [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS].some(
        (d) => d && executable(join(d, name)),
      );
  return found
    ? { available: true }
    : { available: false, reason: `${name} not found: apt-get install -y ${pkg}` };
}

export function requireRoot(why: string): Requirement {
  return process.getuid?.() === 0
    ? { available: true }
    : { available: false, reason: `needs root (${why}); run as root, as CI does` };
}

export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== 'false' && v !== '0';
}

/**
 * true when a test should be skipped (all reasons logged once); throws under CI instead.
 * Use with `describe.skipIf(skipUnless(...))` or `it.skipIf(...)`.
 */
export function skipUnless(
  requirements: Requirement | readonly Requirement[],
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  const missing = (Array.isArray(requirements) ? requirements : [requirements]).filter((r) => !r.available);
  if (missing.length === 0) return false;
  const reasons = missing.map((r) => r.reason ?? 'unavailable').join('; ');
  if (isCI(env)) throw new Error(`under CI (CI=${env.CI}) a required tool is missing: ${reasons}`);
  console.warn(`skipping: ${reasons}`);
  return true;
}

/** describe() that is skipped, with the reasons in its title, where a requirement is unmet (fails in CI). */
export function describeIf(
  requirements: Requirement | readonly Requirement[],
  title: string,
  fn: () => void,
): void {
  const list = Array.isArray(requirements) ? requirements : [requirements];
  if (skipUnless(list)) {
    const reasons = list.filter((r) => !r.available).map((r) => r.reason);
    describe.skip(`${title} (skipped: ${reasons.join('; ')})`, fn);
  } else {
    describe(title, fn);
  }
}

export function describeIfTool(name: string, pkg: string, title: string, fn: () => void): void {
  describeIf(requireTool(name, pkg), title, fn);
}
