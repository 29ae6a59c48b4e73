// What `ferry deploy` and `ferry rollback` share: open the hosts, check their agents, take the environment
// lock, run the rollout, return switched hosts on a failure, record the result, notify, and print it.

import { channelFollower } from '../channels/follow';
import { ExitCode } from '../exit-codes';
import type { HookRun } from '../hooks/spec';
import { baseOf, deployStarted, notifierFor, runEvents, runThrew } from '../notify/fleet-events';
import { writeEnvRecord } from '../registry/env-record';
import { type AgentEvent, runAgent } from './agent-client';
import { appendAudit } from './audit';
import type { FleetContext } from './context';
import { acquireEnvLock, envLockKey, type LockedRun, type LockNote, releaseAfter } from './env-lock';
import { hookDetailLines, hookWarnings, runAfterDeploy } from './hooks';
import { planBatches } from './plan';
import type { HostOutcome, RolloutResult } from './rollout';
import { checkAgents, closeHosts, type HostHandle, type HostPlatformInfo, openHosts } from './session';

/** Failures that say the release itself is wrong: the version is marked bad where it was switched back. */
const RELEASE_FAULTS = new Set([
  'health_failed',
  'reload_failed',
  'release_mismatch',
  'artifact_mismatch',
  'bake_failed',
]);
/** A host refused the release itself (signature, checksums, archive): exit 5, as `ferry verify` does. */
const VERIFICATION_FAULTS = new Set([
  'bad_signature',
  'manifest_invalid',
  'version_mismatch',
  'name_mismatch',
  'artifact_mismatch',
  'unsafe_archive',
  'archive_too_large',
  'release_mismatch',
]);

export interface FleetRunResult {
  ok: boolean;
  op: 'deploy' | 'rollback';
  env: string;
  version: string | null;
  outcomes: HostOutcome[];
  exitCode: number;
  dryRun?: boolean;
  plan?: { host: string; batch: number; current: string | null }[];
  /** Set when the run could not release the environment lock (exit 7). */
  lock?: LockNote;
}

export async function runFleetOp(
  ctx: FleetContext,
  op: 'deploy' | 'rollback',
  version: string | null,
  dryRun: boolean,
  go: (hosts: HostHandle[], platforms: Map<string, HostPlatformInfo>) => Promise<RolloutResult>,
): Promise<FleetRunResult> {
  const { envCfg, config } = ctx;
  const hosts = await openHosts(envCfg, ctx.env);
  // Messages go out in the background and are waited for (5 s at most each) only once the run is over.
  const notifier = notifierFor(ctx);
  const base = baseOf(ctx);
  try {
    const platforms = await checkAgents(hosts, envCfg.concurrency);
    if (dryRun) return planOnly(ctx, hosts, platforms, op, version);
    // Pull mode: the channel follows where the hosts land, or pulling hosts would undo this push.
    const channel = await channelFollower(ctx);
    let channelError: unknown = null;

    const lockKey = envLockKey(config.registry.prefix, config.app.name, envCfg.name);
    const lock = await acquireEnvLock(ctx.registry, lockKey, {
      env: envCfg.name,
      who: ctx.who,
      op,
      version,
      ttlSeconds: envCfg.lockTtlSeconds,
    });
    if (lock.broke)
      ctx.log(`note: broke an expired lock held by ${lock.broke.who} since ${lock.broke.since}`);
    const started = Date.now();
    const run: LockedRun<FleetRunResult> = {};
    let told = false;
    try {
      ctx.log(
        `${op} ${version ?? '(previous release)'} to ${envCfg.name}: ${hosts.length} host(s), batch ${envCfg.batch}`,
      );
      if (op === 'deploy') notifier.emit(deployStarted(base, version, hosts.length));
      const result = await go(hosts, platforms);
      const target = version ?? commonTarget(result.outcomes);
      let afterDeploy: HookRun[] = [];
      if (result.ok && target) {
        const from = result.outcomes.find((o) => o.from)?.from ?? null;
        await writeEnvRecord(ctx.registry, config.registry.prefix, config.app.name, {
          env: envCfg.name,
          version: target,
          previous: from,
          updatedAt: new Date().toISOString(),
          by: ctx.who,
        });
        channelError = await channel?.move(target).then(
          () => null,
          (err: unknown) => err,
        );
        if (op === 'deploy' && config.hooks.afterDeploy.length > 0) {
          afterDeploy = await runAfterDeploy(ctx, {
            version: target,
            from,
            hosts: result.outcomes.map((o) => o.host),
          });
        }
      } else if (result.ok && channel) {
        ctx.log(
          `warning: hosts landed on different versions, so the channel of ${envCfg.name} was not moved`,
        );
      }
      await appendAudit(ctx.registry, config.registry.prefix, config.app.name, {
        time: new Date().toISOString(),
        env: envCfg.name,
        who: ctx.who,
        op,
        version: target,
        from: result.outcomes.find((o) => o.from)?.from ?? null,
        result: result.ok
          ? 'ok'
          : result.outcomes.some((o) => o.reverted || o.selfReverted)
            ? 'rolled-back'
            : 'failed',
        hosts: result.outcomes.map((o) => ({
          host: o.host,
          ok: o.ok,
          from: o.from,
          to: o.to,
          ...(o.error ? { error: `${o.error.code}: ${o.error.message}` } : {}),
          ...(o.error?.details ? { details: o.error.details } : {}),
          ...(o.hooks && !o.error?.details?.hooks ? { hooks: o.hooks } : {}),
        })),
        ...(afterDeploy.length > 0 ? { hooks: afterDeploy } : {}),
        ...(result.haltedBy?.error
          ? { error: `${result.haltedBy.host}: ${result.haltedBy.error.message}` }
          : {}),
        durationMs: Date.now() - started,
      });
      for (const e of runEvents(base, op, {
        ok: result.ok,
        version: target,
        from: result.outcomes.find((o) => o.from)?.from ?? null,
        outcomes: result.outcomes,
        haltedBy: result.haltedBy,
        durationMs: Date.now() - started,
        warnings: hookWarnings(result.outcomes, afterDeploy),
      })) {
        notifier.emit(e);
      }
      told = true;
      if (channelError) throw channelError;
      const halt = result.haltedBy?.error?.code ?? '';
      const unhealthy = RELEASE_FAULTS.has(halt);
      run.result = {
        ok: result.ok,
        op,
        env: envCfg.name,
        version: target,
        outcomes: result.outcomes,
        exitCode: result.ok
          ? ExitCode.Ok
          : VERIFICATION_FAULTS.has(halt)
            ? ExitCode.Verification
            : unhealthy
              ? ExitCode.Unhealthy
              : ExitCode.Failure,
      };
      return run.result;
    } catch (err) {
      run.failure = err;
      if (!told) notifier.emit(runThrew(base, op, version, err));
      throw err;
    } finally {
      // Marks the returned result (same object) or wraps the error when the lock will not let go.
      await releaseAfter(lock, run);
    }
  } finally {
    await closeHosts(hosts);
    await notifier.flush();
  }
}

export function revertHost(
  ctx: FleetContext,
  h: HostHandle,
  o: HostOutcome,
  version: string,
  cause: HostOutcome,
) {
  return runAgent(
    h.t,
    h.host.path,
    'rollback',
    // A health or reload failure elsewhere means the release is bad everywhere; a dropped SSH session
    // does not, so then the version stays deployable without --allow-bad.
    { to: o.from ?? undefined, markBad: RELEASE_FAULTS.has(cause.error?.code ?? ''), allowBad: true },
    { who: ctx.who, onEvent: progress(ctx, h) },
  ).then((r) => {
    if (!r.ok)
      ctx.log(`  ${h.host.name}  could not return from ${version} to ${o.from}: ${r.error?.message}`);
    return r;
  });
}

function planOnly(
  ctx: FleetContext,
  hosts: HostHandle[],
  platforms: Map<string, HostPlatformInfo>,
  op: 'deploy' | 'rollback',
  version: string | null,
): FleetRunResult {
  const batches =
    op === 'deploy'
      ? planBatches(hosts, ctx.envCfg.batch, { canary: true })
      : planBatches(hosts, '100%', { canary: false });
  const currents = new Map(hosts.map((h) => [h.host.name, platforms.get(h.host.name)?.current ?? null]));
  const plan: { host: string; batch: number; current: string | null }[] = [];
  for (const [i, batch] of batches.entries()) {
    for (const h of batch) {
      const current = currents.get(h.host.name) ?? null;
      plan.push({ host: h.host.name, batch: i + 1, current });
      const action =
        current === version ? 'already current: reinstall check only' : `${current ?? '(none)'} → ${version}`;
      ctx.log(
        `  batch ${i + 1}${i === 0 && op === 'deploy' && batches.length > 1 ? ' (canary)' : ''}  ${h.host.name}  ${action}`,
      );
    }
  }
  ctx.log('dry run: nothing was changed');
  return {
    ok: true,
    op,
    env: ctx.envCfg.name,
    version,
    outcomes: [],
    exitCode: ExitCode.Ok,
    dryRun: true,
    plan,
  };
}

/** The release every host landed on, when they all succeeded on the same one (a plain rollback's target). */
function commonTarget(outcomes: HostOutcome[]): string | null {
  if (!outcomes.every((o) => o.ok)) return null;
  const targets = new Set(outcomes.map((o) => o.to));
  return targets.size === 1 ? ([...targets][0] ?? null) : null;
}

export function progress(ctx: FleetContext, h: HostHandle): (e: AgentEvent) => void {
  return (e) => {
    if (e.event === 'step' && e.step)
      ctx.log(`  ${h.host.name}  ${e.step}${e.reused ? ' (already on disk)' : ''}`);
    else if (e.event === 'retry')
      ctx.log(`  ${h.host.name}  retry ${String(e.attempt)} (${String(e.reason)})`);
  };
}

export function hostLine(o: HostOutcome, version: string | null): string {
  const secs = (o.durationMs / 1000).toFixed(1);
  if (o.ok) return `  ${o.host}  serving ${o.to ?? version} (was ${o.from ?? 'nothing'}) in ${secs}s`;
  const back = o.selfReverted ? `; switched back to ${o.from}` : '';
  return [
    `  ${o.host}  FAILED at ${o.error?.step ?? '?'}: ${o.error?.message}${back}`,
    ...detailLines(o),
  ].join('\n');
}

/** The evidence a host sent back, so the operator needs no login to see why a release was refused. */
export function detailLines(o: HostOutcome): string[] {
  const d = o.error?.details;
  if (!d) return [];
  const lines: string[] = [];
  const p = d.probe;
  if (p) {
    const answer = p.error
      ? `no answer (${p.error})`
      : `HTTP ${p.status}${p.body ? ` ${JSON.stringify(p.body.slice(0, 200))}` : ''}${p.version !== undefined ? `, version ${JSON.stringify(p.version)}` : ''}`;
    lines.push(`      health answer: ${answer}`);
  }
  lines.push(...hookDetailLines(d));
  if (d.output && d.output.length > 0) {
    lines.push(`      last ${d.output.length} line(s) of the new workers' output:`);
    for (const l of d.output) lines.push(`        | ${l}`);
  }
  return lines;
}
