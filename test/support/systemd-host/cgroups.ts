// Each host boots inside cgroups of its own, one per mounted hierarchy, and in a cgroup namespace rooted
// there: systemd then creates its slices under them, never at the machine's cgroup root, and two hosts
// booted at once never share a cgroup. After poweroff the whole subtree is removed.
import { readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CgroupJoin } from './commands';

export interface Hierarchy {
  /** Where this process's own cgroup is on the machine, e.g. /sys/fs/cgroup/unified/ or …/memory/a/b. */
  ownDir: string;
  /** cgroup2, and v1's name=systemd: the hierarchies systemd tracks processes in. */
  required: boolean;
}

/** Prefix of every host cgroup's name; the rest is the host dir's name, which carries the owner's PID. */
export const CGROUP_PREFIX = 'ferry-host-';

/**
 * From /proc/self/mountinfo and /proc/self/cgroup: the directory of this process's cgroup in every
 * mounted hierarchy. cpuset is left out: a new cpuset cgroup accepts no process until its CPUs are set.
 */
export function hierarchies(mountinfo: string, selfCgroup: string): Hierarchy[] {
  const membership = new Map<string, string>();
  for (const line of selfCgroup.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (m) membership.set(m[1] === '' ? 'cgroup2' : m[1]!.split(',').sort().join(','), m[2]!);
  }
  const out: Hierarchy[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [fstype, , superOptions = ''] = right.split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if (!root || !mountPoint || (fstype !== 'cgroup' && fstype !== 'cgroup2')) continue;
    const key =
      fstype === 'cgroup2'
        ? 'cgroup2'
        : superOptions
            .split(',')
            .filter(
              (o) => o !== 'rw' && o !== 'ro' && !/^(xattr|clone_children|release_agent=|noprefix)/.test(o),
            )
            .sort()
            .join(',');
    if (key === 'cpuset' || key.split(',').includes('cpuset')) continue;
    const path = membership.get(key);
    if (path === undefined) continue;
    // A mount of a sub-tree (nested containers) shows paths relative to its root.
    const relative = root === '/' ? path : path.startsWith(root) ? path.slice(root.length) || '/' : undefined;
    if (relative === undefined) continue;
    out.push({
      ownDir: posix.join(mountPoint, relative).replace(/(.)\/$/, '$1'),
      required: key === 'cgroup2' || key === 'name=systemd',
    });
  }
  return out;
}

export function machineHierarchies(): Hierarchy[] {
  return hierarchies(readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'));
}

/** Makes the host's cgroup in every hierarchy and returns the cgroup.procs files enter.sh writes to. */
export async function makeHostCgroups(list: readonly Hierarchy[], name: string): Promise<CgroupJoin[]> {
  const joins: CgroupJoin[] = [];
  for (const h of list) {
    const dir = join(h.ownDir, name);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      if (h.required) throw err;
      continue;
    }
    joins.push({ procs: join(dir, 'cgroup.procs'), required: h.required });
  }
  return joins;
}

function pidsIn(dir: string): number[] {
  const pids: number[] = [];
  try {
    for (const l of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (l) pids.push(Number(l));
  } catch {
    return pids;
  }
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) pids.push(...pidsIn(join(dir, e.name)));
  }
  return pids;
}

/** Processes still in a host's cgroup subtree (empty after a clean poweroff). */
export function processesInCgroups(dirs: readonly string[]): number[] {
  return [...new Set(dirs.flatMap(pidsIn))];
}

function rmdirTree(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) rmdirTree(join(dir, e.name));
  }
  rmdirSync(dir);
}

/**
 * Removes cgroup subtrees bottom-up. A cgroup whose last process just died may stay busy for a moment,
 * so EBUSY is retried; whatever is still busy after that is left, and named in the error.
 */
export async function removeCgroups(dirs: readonly string[]): Promise<void> {
  const left: string[] = [];
  for (const dir of dirs) {
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirTree(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || attempt >= 40) {
          left.push(`${dir} (${code})`);
          break;
        }
        await sleep(50);
      }
    }
  }
  if (left.length > 0) throw new Error(`could not remove the host's cgroups: ${left.join(', ')}`);
}

/** Cgroups of hosts whose owning process died without stopping them (a killed test run). */
export function staleCgroups(list: readonly Hierarchy[], isOwnerAlive: (name: string) => boolean): string[] {
  const stale: string[] = [];
  for (const h of list) {
    let names: string[];
    try {
      names = readdirSync(h.ownDir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (n.startsWith(CGROUP_PREFIX) && !isOwnerAlive(n.slice(CGROUP_PREFIX.length))) {
        stale.push(join(h.ownDir, n));
      }
    }
  }
  return stale;
}
