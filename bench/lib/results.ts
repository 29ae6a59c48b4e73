// bench/results.json: the machine, the run, and each part's numbers. A run of some parts (--only)
// replaces those parts and keeps the others from earlier runs; every part records when and on what
// it was measured, so a merged file never passes off old numbers as new.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { Table } from './table';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memTotal: string;
  /** `free -h` as printed. */
  free: string;
  kernel: string;
  node: string;
  loadavg: number[];
}

export interface PartRecord {
  title: string;
  measuredAt: string;
  quick: boolean;
  durationSec: number;
  ok: boolean;
  error?: string;
  skipped?: string;
  tables: Table[];
  data: unknown;
  machine: Machine;
}

export interface ResultsFile {
  schema: 1;
  updatedAt: string;
  machine: Machine;
  parts: Record<string, PartRecord>;
}

export function machineInfo(): Machine {
  let free = '';
  try {
    free = execFileSync('free', ['-h'], { encoding: 'utf8' }).trimEnd();
  } catch {
    free = '(free not available)';
  }
  let kernel = os.release();
  try {
    kernel = readFileSync('/proc/version', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    // os.release() is enough
  }
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memTotal: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    free,
    kernel,
    node: process.version,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export async function readResults(path: string): Promise<ResultsFile | null> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as ResultsFile;
    return parsed.schema === 1 && parsed.parts ? parsed : null;
  } catch {
    return null;
  }
}

/** Pure: the file after a run, earlier parts kept unless this run measured them again. */
export function mergeResults(
  previous: ResultsFile | null,
  machine: Machine,
  now: Date,
  parts: Record<string, PartRecord>,
): ResultsFile {
  return {
    schema: 1,
    updatedAt: now.toISOString(),
    machine,
    parts: { ...(previous?.parts ?? {}), ...parts },
  };
}

/** Temp file + rename: a reader never sees half a file. The temp name is git-ignored. */
export async function writeResults(path: string, results: ResultsFile): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, `${JSON.stringify(results, null, 2)}\n`);
  await rename(tmp, path);
}
