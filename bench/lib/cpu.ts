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
