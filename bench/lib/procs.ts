// Every process a part starts goes through here, so the runner stops all of them at the end, even when a
// part throws. Each child leads its own process group: stopping the group also stops what it forked
// (cluster workers, uvicorn processes). If the bench itself exits abruptly, the exit hook SIGKILLs the
// groups still alive.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Tracked {
  name: string;
  pid: number;
  child: ChildProcess;
  exited(): boolean;
  /** The last 64 KiB of stdout + stderr, for error messages. */
  output(): string;
  /** SIGTERM the group, SIGKILL after graceMs; resolves once the leader is gone. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Tracked>();
let hooked = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export function spawnTracked(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Tracked {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const t of live) killGroup(t.pid, 'SIGKILL');
    });
  }
  const child = spawn(cmd, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString()).slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let done = false;
  const exit = new Promise<void>((resolve) => {
    child.on('exit', () => {
      done = true;
      resolve();
    });
  });
  const pid = child.pid;
  const tracked: Tracked = {
    name,
    pid,
    child,
    exited: () => done,
    output: () => out,
    async stop(graceMs = 5000) {
      if (!done) {
        killGroup(pid, 'SIGTERM');
        await Promise.race([exit, sleep(graceMs)]);
      }
      // The leader may be gone while something it forked is not.
      killGroup(pid, 'SIGKILL');
      await Promise.race([exit, sleep(1000)]);
      live.delete(tracked);
    },
  };
  live.add(tracked);
  return tracked;
}

/** Stops every process still tracked; never throws. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((t) => t.stop().catch(() => {})));
}

export interface MemStatus {
  /** Peak resident set size (VmHWM), bytes. */
  peakRss: number;
  /** Current resident set size (VmRSS), bytes. */
  rss: number;
}

/** Parses /proc/<pid>/status text. Pure. */
export function parseProcStatus(text: string): MemStatus {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  };
  return { peakRss: kb('VmHWM'), rss: kb('VmRSS') };
}

export function memStatus(pid: number): MemStatus | null {
  try {
    return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

/** Direct children of pid, from /proc (for a cluster primary's workers). */
export function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}
