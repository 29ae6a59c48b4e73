// One boot of a host: systemd as PID 1 of its own namespaces, started as a daemon with the fleet's orphan
// watchdog, and its poweroff. SIGTERM does not stop a PID 1, so poweroff goes through systemctl, and a
// SIGKILL from outside the namespace (which a PID 1 cannot ignore) is the fallback that always works.
import { lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FleetError } from '../fleet/errors';
import { type RunResult, run } from '../fleet/exec';
import { type Daemon, descendantsOf, isAlive, killAll, spawnDaemon } from '../fleet/processes';
import {
  CGROUP_PREFIX,
  machineHierarchies,
  makeHostCgroups,
  processesInCgroups,
  removeCgroups,
  staleCgroups,
} from './cgroups';
import {
  enterScript,
  type HiddenFiles,
  initScript,
  journaldDropIn,
  NODE_NAMES,
  NODE_PATH_DIRS,
  nsenterArgv,
} from './commands';
import { cgroupName, type HostLayout, ownerAlive } from './layout';
import { machineEnabledUnits, masksFor } from './units';

export interface Boot {
  /** systemd's PID as the machine sees it (PID 1 inside). */
  pid: number;
  /** `pid:[inode]` of the host's PID namespace: every process of the host has it. */
  pidNamespace: string;
  daemon: Daemon;
  cgroupDirs: string[];
}

async function bootLogTail(layout: HostLayout): Promise<string> {
  const log = readFileSafe(layout.bootLog).trim();
  return log ? log.slice(-2000) : '(empty)';
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function pidNamespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** Every process of the machine in this PID namespace (the host's systemd and all it started). */
export function processesInNamespace(pidNamespace: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => pidNamespaceOf(pid) === pidNamespace);
}

/** Hosts of a test run that was SIGKILLed: their processes died with them, their empty cgroups did not. */
export function removeStaleCgroups(hierarchies = machineHierarchies()): Promise<void> {
  return removeCgroups(staleCgroups(hierarchies, ownerAlive));
}

/** The node binaries on the machine's PATH directories, by real directory (/bin is /usr/bin here). */
export function machineNodeFiles(dirs = NODE_PATH_DIRS, names = NODE_NAMES): HiddenFiles[] {
  const byDir = new Map<string, Set<string>>();
  for (const d of dirs) {
    let real: string;
    try {
      real = realpathSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      try {
        lstatSync(join(real, n));
      } catch {
        continue;
      }
      byDir.set(real, (byDir.get(real) ?? new Set()).add(n));
    }
  }
  return [...byDir].map(([dir, found]) => ({ dir, names: [...found].sort() }));
}

export async function startBoot(layout: HostLayout, bootCount: number): Promise<Boot> {
  const hierarchies = machineHierarchies();
  await removeStaleCgroups(hierarchies).catch(() => {});
  const joins = await makeHostCgroups(hierarchies, `${CGROUP_PREFIX}${cgroupName(layout, bootCount)}`);
  const cgroupDirs = joins.map((j) => j.procs.replace(/\/cgroup\.procs$/, ''));
  if (!joins.some((j) => j.required)) {
    await removeCgroups(cgroupDirs).catch(() => {});
    throw new FleetError(
      'found no writable cgroup2 or name=systemd hierarchy to boot systemd in',
      'run as root on a machine (or privileged container) with /sys/fs/cgroup mounted read-write',
    );
  }
  await writeFile(
    layout.initScript,
    initScript({
      dirs: layout.private,
      // Read from the machine's /etc at every boot: whatever it enables now, the host does not start.
      masks: masksFor(machineEnabledUnits()),
      hideNode: machineNodeFiles(),
      journaldConf: journaldDropIn(),
    }),
    { mode: 0o755 },
  );
  await writeFile(layout.enterScript, enterScript(joins, layout.initScript), { mode: 0o755 });
  await writeFile(layout.bootLog, '');
  const daemon = await spawnDaemon(['/bin/sh', layout.enterScript], layout.bootLog);

  const ours = pidNamespaceOf(process.pid);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !daemon.hasExited()) {
    for (const child of descendantsOf(daemon.pid)) {
      const ns = pidNamespaceOf(child);
      if (ns && ns !== ours) return { pid: child, pidNamespace: ns, daemon, cgroupDirs };
    }
    await sleep(20);
  }
  await daemon.stop();
  await removeCgroups(cgroupDirs).catch(() => {});
  throw new FleetError(
    `the host's namespaces did not come up (unshare ${daemon.hasExited() ? `exited with ${daemon.exitCode()}` : 'hung'}): ${await bootLogTail(layout)}`,
    `see ${layout.bootLog} and ${layout.initScript}; unshare needs root and util-linux`,
  );
}

export function nsenter(
  boot: Boot,
  argv: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
) {
  return run(nsenterArgv(boot.pid, argv), opts);
}

export type SystemState = 'running' | 'degraded';

/** Waits until `systemctl is-system-running` says running or degraded. */
export async function waitForSystem(boot: Boot, layout: HostLayout, timeoutMs: number): Promise<SystemState> {
  const deadline = Date.now() + timeoutMs;
  let last: RunResult | undefined;
  while (Date.now() < deadline) {
    if (boot.daemon.hasExited()) {
      throw new FleetError(
        `systemd exited during boot (unshare exit ${boot.daemon.exitCode()}): ${await bootLogTail(layout)}`,
        `see ${layout.bootLog} and ${layout.initScript}`,
      );
    }
    last = await nsenter(boot, ['systemctl', 'is-system-running'], { timeoutMs: 5000 });
    const state = last.stdout.trim();
    if (state === 'running' || state === 'degraded') return state;
    await sleep(100);
  }
  throw new FleetError(
    `systemd did not reach running or degraded within ${timeoutMs} ms (last: ${last?.stdout.trim() || last?.stderr.trim()})`,
    `inspect it with: nsenter -t ${boot.pid} -m -p systemctl list-jobs`,
  );
}

/**
 * Powers the host off and waits until every process of it is gone, then removes its cgroups. A host
 * that does not shut down in time is SIGKILLed: stop() must reap even after a failed test.
 */
export async function powerOff(boot: Boot, timeoutMs = 30_000): Promise<{ clean: boolean }> {
  let clean = false;
  if (!boot.daemon.hasExited()) {
    // systemctl returns once the job is queued; the namespace ends when systemd exits.
    await nsenter(boot, ['systemctl', 'poweroff'], { timeoutMs: 10_000 }).catch(() => undefined);
    const deadline = Date.now() + timeoutMs;
    while (!boot.daemon.hasExited() && Date.now() < deadline) await sleep(50);
    clean = boot.daemon.hasExited();
  }
  if (!clean) {
    // From outside its namespace, SIGKILL reaches a PID 1; the kernel then kills everything inside.
    if (isAlive(boot.pid)) process.kill(boot.pid, 'SIGKILL');
  }
  // Only the watchdog is left after a clean exit; otherwise unshare itself.
  await boot.daemon.stop();
  const deadline = Date.now() + 10_000;
  let left = processesInNamespace(boot.pidNamespace);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = processesInNamespace(boot.pidNamespace).filter(isAlive);
  }
  // Nothing should be in the cgroups now; a process that is (nsenter'd in and escaped) is not ours to keep.
  await killAll(processesInCgroups(boot.cgroupDirs), 1000);
  await removeCgroups(boot.cgroupDirs);
  if (left.length > 0) throw new Error(`processes of the host outlived its PID 1: ${left.join(' ')}`);
  return { clean };
}
