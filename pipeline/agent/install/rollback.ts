// `agent rollback [--to V]`: back to a release already on disk, through the same switch/reload/health
// gate as a deploy, no download. The release rolled away from is marked bad (unless --no-mark-bad), and a
// plain rollback never lands on a bad release: it skips back to the newest good one.

import type { AgentContext } from '../context';
import { AgentError } from '../errors';
import { clearJournal, enterStep } from '../host/journal';
import { acquireLock } from '../host/lock';
import { recoverLeftover } from '../host/recover';
import { appendHistory, type HostState, markBad, readState, updateState } from '../host/state';
import { failed, type OpOutcome } from '../outcome';
import { loadServiceConfig } from '../service/config';
import { describeProbe, waitHealthy } from '../service/health';
import { activate } from './activate';
import { checkInstalled, type InstalledRelease, linkShared, listReleases } from './releases';
import { currentVersion } from './switch';

export interface RollbackOptions {
  to?: string;
  /** Default true. False for a fleet-wide revert whose cause was not this release (see docs/agent.md). */
  markBad?: boolean;
  allowBad?: boolean;
  healthTimeoutSec?: number;
}

/**
 * The plain rollback target: `previous` when it is good and installed, otherwise the newest good release
 * installed before the current one. null when there is none.
 */
export function pickRollbackTarget(
  state: HostState,
  releases: InstalledRelease[],
  current: string,
): string | null {
  const good = (v: string) =>
    v !== current && !state.bad.includes(v) && releases.some((r) => r.version === v);
  if (state.previous && good(state.previous)) return state.previous;
  const cur = releases.find((r) => r.version === current);
  const older = releases.filter((r) => good(r.version) && (!cur || r.installedAt < cur.installedAt));
  return older.length > 0 ? (older[older.length - 1] as InstalledRelease).version : null;
}

export async function rollback(ctx: AgentContext, o: RollbackOptions): Promise<OpOutcome> {
  const { paths, report, env } = ctx;
  const started = Date.now();
  const config = await loadServiceConfig(paths.serviceConfig);
  const healthTimeoutSec = o.healthTimeoutSec ?? config.healthTimeoutSec;
  const lock = await acquireLock(paths, {
    who: ctx.who,
    op: 'rollback',
    version: o.to ?? null,
    ttlSec: config.lockTtlSec,
  });
  let from: string | null = null;
  let target: string | null = o.to ?? null;
  try {
    await recoverLeftover(ctx, config);
    const state = await readState(paths);
    from = await currentVersion(paths);
    const releases = await listReleases(paths);
    if (!from) {
      throw new AgentError('nothing_to_roll_back', 'no release is current on this host', { step: 'select' });
    }
    target ??= pickRollbackTarget(state, releases, from);
    if (!target) {
      throw new AgentError('nothing_to_roll_back', `no good release to roll back to from ${from}`, {
        step: 'select',
        remedy: `releases on disk: ${releases.map((r) => `${r.version}${state.bad.includes(r.version) ? ' (bad)' : ''}`).join(', ') || 'none'}; pass --to V (and --allow-bad for a bad one)`,
      });
    }
    if (target === from) {
      // Only an explicit --to gets here. A fleet rollback cut short (a killed CLI) is re-run with the same
      // --to and finds some hosts already there: that is success once the release answers, not an error
      // that would halt the re-run, so the fleet converges. Nothing is switched, reloaded or marked.
      const health = await waitHealthy(config, target, healthTimeoutSec);
      if (!health.ok) {
        throw new AgentError(
          'health_failed',
          `${target} is already current but fails its health check: ${describeProbe(health.last, target)}`,
          { step: 'health', remedy: `see the service log; \`ferry deploy --version ${target}\` reloads it` },
        );
      }
      return {
        ok: true,
        fields: {
          version: target,
          previous: from,
          markedBad: null,
          alreadyCurrent: true,
          healthMs: health.elapsedMs,
          durationMs: Date.now() - started,
        },
      };
    }
    if (state.bad.includes(target) && !o.allowBad) {
      throw new AgentError('bad_release', `${target} is marked bad on this host`, {
        step: 'select',
        remedy: 'pick another release, or pass --allow-bad',
      });
    }
    const problem = await checkInstalled(paths, target);
    if (problem) {
      throw new AgentError('not_installed', `cannot roll back to ${target}: ${problem}`, {
        step: 'select',
        remedy: `deploy ${target} again instead (it downloads the release)`,
      });
    }
    const j = { op: 'rollback' as const, version: target, from, startedAt: new Date(started).toISOString() };
    await enterStep(paths, env, j, 'link');
    report.step('link', { version: target });
    await linkShared(paths, target);
    const { healthMs } = await activate(ctx, config, j, healthTimeoutSec);
    const markIt = o.markBad !== false;
    const rolledFrom = from;
    const rolledTo = target;
    await updateState(paths, (s) => {
      if (markIt) markBad(s, rolledFrom);
      s.previous = rolledFrom;
      s.lastGood = rolledTo;
      s.bad = s.bad.filter((v) => v !== rolledTo);
    });
    await clearJournal(paths);
    const durationMs = Date.now() - started;
    await appendHistory(paths, {
      who: ctx.who,
      op: 'rollback',
      version: target,
      from,
      result: 'ok',
      error: null,
      durationMs,
      ...(markIt ? { note: `${from} marked bad` } : {}),
    });
    return {
      ok: true,
      fields: { version: target, previous: from, markedBad: markIt ? from : null, healthMs, durationMs },
    };
  } catch (err) {
    return await failed(ctx, 'rollback', target, from, started, 'select', err);
  } finally {
    await lock.release();
  }
}
