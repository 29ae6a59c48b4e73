// The notifications of `ferry deploy`, `ferry rollback` and `ferry promote`: which events a run emits and
// what each says, built from what the run already knows (its result, its hosts' outcomes).
import type { FleetContext } from '../deploy/context';
import type { HostOutcome } from '../deploy/rollout';
import type { NotifyEvent } from './event';
import { Notifier } from './notifier';

export function notifierFor(ctx: FleetContext): Notifier {
  return new Notifier({
    targets: ctx.config.notifications,
    env: ctx.env,
    envName: ctx.envCfg.name,
    warn: (line) => ctx.log(`warning: ${line}`),
  });
}

type Base = Pick<NotifyEvent, 'app' | 'env' | 'who'>;

export function baseOf(ctx: FleetContext): Base {
  return { app: ctx.config.app.name, env: ctx.envCfg.name, who: ctx.who };
}

export function deployStarted(base: Base, version: string | null, hosts: number): NotifyEvent {
  return { ...base, event: 'deploy.started', version, from: null, time: now(), ok: true, hosts };
}

/** What a finished deploy or rollback tells: its outcome, and each host that switched back by itself. */
export function runEvents(
  base: Base,
  op: 'deploy' | 'rollback',
  r: {
    ok: boolean;
    version: string | null;
    from: string | null;
    outcomes: HostOutcome[];
    haltedBy: HostOutcome | null;
    durationMs: number;
    warnings?: string[];
  },
): NotifyEvent[] {
  const halted = r.haltedBy;
  const failure = halted?.error
    ? { host: halted.host, reason: `${halted.error.code}: ${halted.error.message}` }
    : undefined;
  const main: NotifyEvent = {
    ...base,
    event: op === 'rollback' ? 'rollback' : r.ok ? 'deploy.succeeded' : 'deploy.failed',
    version: r.version,
    from: r.from,
    time: now(),
    ok: r.ok,
    hosts: r.outcomes.length,
    durationMs: r.durationMs,
    ...(!r.ok && failure ? { failure } : {}),
    ...(r.warnings && r.warnings.length > 0 ? { warnings: r.warnings } : {}),
  };
  const reverted: NotifyEvent[] = r.outcomes
    .filter((o) => o.selfReverted)
    .map((o) => ({
      ...base,
      event: 'host.reverted',
      version: r.version,
      from: o.from,
      time: now(),
      ok: false,
      failure: { host: o.host, reason: `${o.error?.code}: ${o.error?.message}` },
    }));
  return [...reverted, main];
}

/** A run that threw (refused before the rollout, a registry error) still says it failed. */
export function runThrew(
  base: Base,
  op: 'deploy' | 'rollback',
  version: string | null,
  err: unknown,
): NotifyEvent {
  return {
    ...base,
    event: op === 'rollback' ? 'rollback' : 'deploy.failed',
    version,
    from: null,
    time: now(),
    ok: false,
    failure: { host: null, reason: (err as Error).message ?? String(err) },
  };
}

export function promoted(
  base: Base,
  p: { version: string; from: string | null; sequence: number },
): NotifyEvent {
  return {
    ...base,
    event: 'promote',
    version: p.version,
    from: p.from,
    time: now(),
    ok: true,
    sequence: p.sequence,
  };
}

function now(): string {
  return new Date().toISOString();
}
