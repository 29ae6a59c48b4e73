// How deploy and rollback end when they fail: a gate failure marks the release bad (activate.ts already
// switched back); an earlier failure changed nothing the service sees. Either way one history line.

import type { AgentContext } from './context';
import { errorJson } from './errors';
import { clearJournal } from './host/journal';
import { appendHistory, markBad, updateState } from './host/state';
import { ActivationFailed } from './install/activate';

export interface OpOutcome {
  ok: boolean;
  fields: Record<string, unknown>;
  error?: unknown;
  exitCode?: number;
}

/** The common failure path: mark bad if the gate failed, write history, shape the result. */
export async function failed(
  ctx: AgentContext,
  op: 'deploy' | 'rollback',
  version: string | null,
  from: string | null,
  started: number,
  step: string,
  err: unknown,
): Promise<OpOutcome> {
  const { paths } = ctx;
  const durationMs = Date.now() - started;
  if (err instanceof ActivationFailed) {
    if (version) await updateState(paths, (s) => markBad(s, version));
    await clearJournal(paths);
    const error = errorJson(err.failure, step);
    await appendHistory(paths, { who: ctx.who, op, version, from, result: 'rolled-back', error, durationMs });
    return {
      ok: false,
      error: err.failure,
      exitCode: err.failure.exitCode,
      fields: {
        version,
        previous: from,
        rolledBack: true,
        rollback: err.revert,
        markedBad: version,
        durationMs,
      },
    };
  }
  // Before the switch nothing changed for the service: the journal can go, temp files went in finally blocks.
  await clearJournal(paths);
  const error = errorJson(err, step);
  await appendHistory(paths, { who: ctx.who, op, version, from, result: 'failed', error, durationMs });
  return { ok: false, error: err, fields: { version, previous: from, rolledBack: false, durationMs } };
}
