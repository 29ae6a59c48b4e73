// Steps 5-7, shared by deploy and rollback: switch `current`, make the service load it, health-gate it.
// Any failure from the switch on puts `current` back where it was, reloads, and checks the old release
// answers again, so a host is never left on an unverified release.

import type { AgentContext } from '../context';
import { AgentError } from '../errors';
import { enterStep, type Journal } from '../host/journal';
import type { ServiceConfig } from '../service/config';
import { serveCurrent } from '../service/control';
import { describeProbe, waitHealthy } from '../service/health';
import { clearCurrent, switchCurrent } from './switch';

export interface RevertOutcome {
  ok: boolean;
  to: string | null;
  error?: string;
}

/** Thrown when activation failed and `current` was put back; `revert` says whether the way back worked. */
export class ActivationFailed extends Error {
  constructor(
    readonly failure: AgentError,
    readonly revert: RevertOutcome,
  ) {
    super(failure.message);
  }
}

export async function activate(
  ctx: AgentContext,
  config: ServiceConfig,
  journal: Omit<Journal, 'step' | 'pid'>,
  healthTimeoutSec: number,
): Promise<{ healthMs: number }> {
  const { paths, report, env } = ctx;
  const target = journal.version;
  await enterStep(paths, env, journal, 'switch');
  report.step('switch', { version: target, from: journal.from });
  await switchCurrent(paths, target);
  try {
    await enterStep(paths, env, journal, 'reload');
    report.step('reload', { version: target });
    await serveCurrent(paths, config, target, healthTimeoutSec);
    await enterStep(paths, env, journal, 'health');
    report.step('health', { version: target, timeoutSec: healthTimeoutSec });
    const health = await waitHealthy(config, target, healthTimeoutSec);
    if (!health.ok) {
      throw new AgentError(
        'health_failed',
        `${target} failed its health check within ${healthTimeoutSec}s: ${describeProbe(health.last, target)}`,
        {
          step: 'health',
          remedy: 'see the service log; raise --health-timeout if the app is just slow to boot',
        },
      );
    }
    return { healthMs: health.elapsedMs };
  } catch (err) {
    const cause =
      err instanceof AgentError
        ? err
        : new AgentError('internal', (err as Error).message, { step: 'reload', cause: err });
    report.say(`${journal.op}: ${cause.message}; switching back to ${journal.from ?? '(nothing)'}`);
    const revert = await switchBack(ctx, config, journal, healthTimeoutSec);
    throw new ActivationFailed(cause, revert);
  }
}

/** Puts `current` back on `journal.from` (or removes it after a failed first deploy) and re-verifies. */
export async function switchBack(
  ctx: AgentContext,
  config: ServiceConfig,
  journal: Omit<Journal, 'step' | 'pid'>,
  healthTimeoutSec: number,
): Promise<RevertOutcome> {
  const { paths, report, env } = ctx;
  const to = journal.from;
  try {
    await enterStep(paths, env, journal, 'revert');
    report.step('revert', { version: to, from: journal.version });
    if (to) await switchCurrent(paths, to);
    else await clearCurrent(paths);
    await serveCurrent(paths, config, to, healthTimeoutSec);
    if (to) {
      const health = await waitHealthy(config, to, healthTimeoutSec);
      if (!health.ok)
        return { ok: false, to, error: `${to} is not healthy either: ${describeProbe(health.last, to)}` };
    }
    return { ok: true, to };
  } catch (err) {
    return { ok: false, to, error: (err as Error).message };
  }
}
