// What a benchmark part is, and what it gets from the runner.
import type { Table } from './table';

export interface BenchContext {
  quick: boolean;
  /** A temp folder of this part, removed by the runner afterwards. */
  tmp: string;
  /** A temp folder of the whole run (for shared work), removed at the end of the run. */
  runTmp: string;
  /** Progress lines (stderr), so stdout carries only the tables. */
  log(message: string): void;
  /** Registers cleanup work; the runner runs it (newest first) when the part ends, even on error. */
  defer(fn: () => Promise<unknown> | unknown): void;
  /** Work shared between parts of one run (the ncc bundle of the service), computed once. */
  shared<T>(key: string, make: () => Promise<T>): Promise<T>;
}

export interface PartResult {
  tables: Table[];
  /** The raw numbers, for bench/results.json. */
  data: unknown;
  /** Set when the part could not run here (no disk space, no root): the reason. */
  skipped?: string;
}

export interface Part {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<PartResult>;
}

/** Runs fn under a wall-clock budget; a part must never hang the whole run. */
export async function withDeadline<T>(what: string, ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
