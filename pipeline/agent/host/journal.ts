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
  | 'switch'
  | 'reload'
  | 'health'
  | 'revert'
  | 'prune';

export interface Journal {
  op: 'deploy' | 'rollback';
  version: string;
  /** The release `current` pointed to when the operation began (null on a first deploy). */
  from: string | null;
  step: JournalStep;
  startedAt: string;
  pid: number;
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

/** Records the step, then honours the test-only crash hook (FERRY_AGENT_CRASH_AT=<step>). */
export async function enterStep(
  paths: HostPaths,
  env: NodeJS.ProcessEnv,
  j: Omit<Journal, 'step' | 'pid'>,
  step: JournalStep,
): Promise<void> {
  await writeJsonAtomic(paths.journal, { ...j, step, pid: process.pid });
  if (env.FERRY_AGENT_CRASH_AT === step) {
    // SIGKILL, not exit: no finally blocks, no lock release, exactly like a power cut or OOM kill.
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => {});
  }
}
