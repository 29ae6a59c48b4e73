// Whole-machine CPU use over an interval, from /proc/stat: tells "slow because the work is serial" from
// "slow because every simulated host shares these cores".
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface CpuSnapshot {
  busy: number;
  total: number;
}

/** The aggregate "cpu" line of /proc/stat → busy and total jiffies (idle and iowait are not busy). Pure. */
export function parseProcStat(text: string): CpuSnapshot {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no aggregate cpu line in /proc/stat');
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

export function cpuSnapshot(): CpuSnapshot {
  return parseProcStat(readFileSync('/proc/stat', 'utf8'));
}

export interface CpuUse {
  /** Share of all cores busy, 0–1. */
  busyFraction: number;
  /** CPU-seconds spent machine-wide (busy fraction × wall time × cores). */
  cpuSeconds: number;
}

export function cpuUse(from: CpuSnapshot, to: CpuSnapshot, wallMs: number): CpuUse {
  const total = to.total - from.total;
  const busyFraction = total > 0 ? (to.busy - from.busy) / total : 0;
  return { busyFraction, cpuSeconds: busyFraction * (wallMs / 1000) * availableParallelism() };
}

// Linux reports per-process times in clock ticks of 1/100 s (USER_HZ) on every architecture Node runs on.
const TICKS_PER_SECOND = 100;

/** /proc/<pid>/stat → the process's own user + system CPU seconds (not its reaped children's). Pure. */
export function parsePidStat(text: string): number {
  // The command name (field 2) may hold spaces and parentheses: fields are counted from its last ")".
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
}

/** CPU seconds used so far by these processes together; a process that is gone counts 0. */
export function processCpuSeconds(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += parsePidStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      // exited
    }
  }
  return sum;
}
