// .ferry/journal.json names the step in progress. It is written BEFORE a step acts and removed after the
// operation ends, so a run killed mid-way leaves a record the next run uses to finish or undo (recover.ts).
import { rm } from 'node:fs/promises';
import { readJson, writeJsonAtomic } from './fsutil';
import type { HostPaths } from './paths';

export type JournalStep =
  | 'verify'
  | 'runtime'
  | 'download'
  | 'unpack'
  | 'link'
  | 'before-switch'
  | 'switch'
  | 'reload'
  | 'health'
  | 'revert'
  | 'after-switch'
  | 'prune';

export interface Journal {
  op: 'deploy' | 'rollback';
  version: string;
  /** The release `current` pointed to when the operation began (null on a first deploy). */
  from: string | null;
  step: JournalStep;
  startedAt: string;
  pid: number;
  /** A hook running now (its process group leader), so a run that finds it orphaned can stop it. */
  hook?: { pid: number; startTicks: number | null; run: string };
}

export async function readJournal(paths: HostPaths): Promise<Journal | null> {
  try {
    return (await readJson<Journal>(paths.journal)) ?? null;
  } catch {
    return null;
  }
}

export async function clearJournal(paths: HostPaths): Promise<void> {
  await rm(paths.journal, { force: true });
}

/**
 * Test-only crash hook (FERRY_AGENT_CRASH_AT): where the agent may SIGKILL itself. A step's name kills it
 * at the start of that step, right after the journal names it; the mid-* points kill it inside a step,
 * once it has written part of what it writes: half the artifact into tmp/ (`mid-download`), half the
 * release's files into staging (`mid-unpack`), the temporary symlink but not its rename over `current`
 * (`mid-switch`), a hook started and recorded in the journal (`mid-hook`).
 */
export type CrashPoint = JournalStep | 'mid-download' | 'mid-unpack' | 'mid-switch' | 'mid-hook';

/** SIGKILL, not exit: no finally blocks, no lock release, exactly like a power cut or OOM kill. */
export function crashIfAt(point: CrashPoint, env: NodeJS.ProcessEnv = process.env): void {
  if (env.FERRY_AGENT_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}

/** Records the step, then honours the crash hook for the step's start. */
export async function enterStep(
  paths: HostPaths,
  env: NodeJS.ProcessEnv,
  j: Omit<Journal, 'step' | 'pid'>,
  step: JournalStep,
): Promise<void> {
  await writeJsonAtomic(paths.journal, { ...j, step, pid: process.pid });
  if (env.FERRY_AGENT_CRASH_AT === step) {
    crashIfAt(step, env);
    await new Promise(() => {});
  }
}
