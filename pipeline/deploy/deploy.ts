// `ferry deploy` and `ferry rollback` across an environment: lock, check agents, roll out in batches with
// the canary first, return switched hosts on a failure, record the result in the registry.

import { runtimeForHost } from '../agent/runtime/host';
import { channelFollower } from '../channels/follow';
import { FerryError } from '../errors';
import { ExitCode } from '../exit-codes';
import type { HookRun } from '../hooks/spec';
import { baseOf, deployStarted, notifierFor, runEvents, runThrew } from '../notify/fleet-events';
import { readEnvRecord, writeEnvRecord } from '../registry/env-record';
import { readIndex } from '../registry/release-index';
import { artifactKey, artifactName, releaseKeys } from '../release/layout';
import {
  checkVersion,
  parseManifest,
  type ReleaseManifest,
  type RuntimeArch,
  type RuntimePin,
} from '../release/manifest';
import { type AgentEvent, runAgent } from './agent-client';
import { appendAudit } from './audit';
import { bakeBatch } from './bake';
import type { FleetContext } from './context';
import { acquireEnvLock, envLockKey, type LockedRun, type LockNote, releaseAfter } from './env-lock';
import {
  hookDetailLines,
  hooksForBatch,
  hookWarnings,
  hostHookLines,
  refuseAgentsWithoutHooks,
  runAfterDeploy,
} from './hooks';
import { planBatches } from './plan';
import { type HostOutcome, type RolloutResult, rollout } from './rollout';
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

export async function resolveVersion(ctx: FleetContext, requested: string | undefined): Promise<string> {
  const { prefix } = ctx.config.registry;
  const app = ctx.config.app.name;
  if (requested) {
    const bad = checkVersion(requested);
    if (bad) throw new FerryError(bad);
    if (!(await ctx.registry.head(releaseKeys(prefix, app, requested).manifest))) {
      throw new FerryError(`${app} ${requested} is not published in ${ctx.registry.description}`, {
        remedy: 'run ferry releases to see what is published, or ferry publish it first',
      });
    }
    return requested;
  }
  const newest = (await readIndex(ctx.registry, prefix, app)).versions[0];
  if (!newest) {
    throw new FerryError(`nothing of ${app} is published in ${ctx.registry.description}`, {
      remedy: 'run ferry publish first',
    });
  }
  return newest.version;
}

export async function deployEnv(
  ctx: FleetContext,
  opts: { version?: string; dryRun?: boolean; allowBad?: boolean },
): Promise<FleetRunResult> {
  const version = await resolveVersion(ctx, opts.version);
  return runFleetOp(ctx, 'deploy', version, opts.dryRun ?? false, async (hosts, platforms) => {
    const { prefix } = ctx.config.registry;
    const app = ctx.config.app.name;
    const keys = releaseKeys(prefix, app, version);
    const envCfg = ctx.envCfg;
    const published = await publishedManifest(ctx, keys.manifest);
    const runtime = published?.runtime ?? null;
    // The name the manifest gives (.tar.br, or .tar.gz for a release published before brotli). Without a
    // readable one the hosts refuse the release at verify, which is the verdict to report, so any URL does.
    const artifactObject = artifactKey(
      prefix,
      app,
      version,
      published?.artifact?.file ?? artifactName(app, version, 'brotli'),
    );
    if (runtime) refuseUnfitHosts(runtime, version, hosts, platforms);
    refuseAgentsWithoutHooks(ctx, hosts, platforms);
    // Presigned per batch, so a long rollout never hands a host an expired URL; hosts get the internal
    // endpoint and need no OSS credentials of their own.
    const ttl = envCfg.urlTtlSeconds;
    let urls = { manifest: '', signature: '', artifact: '' };
    let runtimeUrls: Partial<Record<RuntimeArch, string>> = {};
    return rollout(
      hosts,
      { batch: envCfg.batch, concurrency: envCfg.concurrency, canary: true },
      {
        beforeBatch: async () => {
          const sign = (key: string) =>
            ctx.registry.presign(key, { expiresSeconds: ttl, endpoint: 'internal' });
          const [manifest, signature, artifact] = await Promise.all([
            sign(keys.manifest),
            sign(keys.signature),
            sign(artifactObject),
          ]);
          urls = { manifest, signature, artifact };
          runtimeUrls = {};
          for (const [arch, art] of Object.entries(runtime?.artifacts ?? {})) {
            if (art) runtimeUrls[arch as RuntimeArch] = await sign(art.key);
          }
        },
        run: (h, n) =>
          runAgent(
            h.t,
            h.host.path,
            'deploy',
            {
              version,
              manifestUrl: urls.manifest,
              signatureUrl: urls.signature,
              artifactUrl: urls.artifact,
              runtimeUrls,
              healthTimeoutSec: envCfg.health.timeoutSeconds,
              keep: envCfg.keep,
              allowBad: opts.allowBad,
              hooks: hooksForBatch(ctx, n),
            },
            { who: ctx.who, onEvent: progress(ctx, h) },
          ),
        revert: (h, o, cause) => revertHost(ctx, h, o, version, cause),
        ...(envCfg.bakeSeconds > 0
          ? { bake: (_n: number, batch: HostHandle[]) => bakeBatch(ctx, batch, version, envCfg.bakeSeconds) }
          : {}),
        onHostDone: (o) => ctx.log([hostLine(o, version), ...(o.ok ? hostHookLines(o) : [])].join('\n')),
        onRevert: (o) =>
          ctx.log(`  ${o.host}  returned to ${o.from}: ${o.reverted?.ok ? 'ok' : o.reverted?.error}`),
      },
    );
  });
}

/**
 * The published manifest, unverified: the hosts check its signature; here it only routes URLs (the
 * artifact's name, the runtime it pins). Null when missing or unreadable.
 */
async function publishedManifest(ctx: FleetContext, manifestKey: string): Promise<ReleaseManifest | null> {
  const bytes = await ctx.registry.get(manifestKey);
  if (!bytes) return null;
  try {
    return parseManifest(bytes);
  } catch {
    return null;
  }
}

/**
 * Before any host is touched: every host can run the pinned Node (its arch is shipped, its glibc is new
 * enough). Otherwise the canary would pass and a later batch would fail half-way through the fleet.
 */
function refuseUnfitHosts(
  runtime: RuntimePin,
  version: string,
  hosts: HostHandle[],
  platforms: Map<string, HostPlatformInfo>,
): void {
  const problems: string[] = [];
  for (const h of hosts) {
    const p = platforms.get(h.host.name);
    if (!p) continue;
    const arch = p.arch === 'x64' || p.arch === 'arm64' ? p.arch : null;
    try {
      runtimeForHost(runtime, { arch, rawArch: p.arch, glibc: p.glibc }, version);
    } catch (err) {
      problems.push(`${h.host.name}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new FerryError(
      `${version} cannot run on every host; nothing was changed:\n  ${problems.join('\n  ')}`,
      {
        remedy: 'add the missing arch to app.runtime.arch (or pin an older Node) and publish again',
      },
    );
  }
}

export async function rollbackEnv(ctx: FleetContext, opts: { to?: string }): Promise<FleetRunResult> {
  if (opts.to) {
    const bad = checkVersion(opts.to);
    if (bad) throw new FerryError(bad);
  }
  return runFleetOp(ctx, 'rollback', opts.to ?? null, false, async (hosts, platforms) => {
    if (!opts.to) await refuseSplitFleet(ctx, hosts, platforms);
    // Every host at once (up to `concurrency`): a rollback returns to a release each host already has
    // and ran, and at 2 a.m. its speed is the point. No canary, no batches.
    return rollout(
      hosts,
      { batch: '100%', concurrency: ctx.envCfg.concurrency, canary: false },
      {
        run: (h) =>
          runAgent(
            h.t,
            h.host.path,
            'rollback',
            { to: opts.to, healthTimeoutSec: ctx.envCfg.health.timeoutSeconds },
            { who: ctx.who, onEvent: progress(ctx, h) },
          ),
        // Undoing a half-done rollback returns hosts to what they served; that release is not bad.
        revert: (h, o) =>
          runAgent(
            h.t,
            h.host.path,
            'rollback',
            { to: o.from ?? undefined, markBad: false, allowBad: true },
            { who: ctx.who },
          ),
        onHostDone: (o) => ctx.log(hostLine(o, o.to)),
        onRevert: (o) =>
          ctx.log(`  ${o.host}  returned to ${o.from}: ${o.reverted?.ok ? 'ok' : o.reverted?.error}`),
      },
    );
  });
}

/**
 * A plain rollback lets each host step back from what it runs. If an earlier run was interrupted the hosts
 * differ, and stepping back would move them further apart (hosts already rolled back would go back again),
 * so the operator names the target instead.
 */
async function refuseSplitFleet(
  ctx: FleetContext,
  hosts: HostHandle[],
  platforms: Map<string, HostPlatformInfo>,
): Promise<void> {
  const currents = hosts.map((h) => ({
    host: h.host.name,
    current: platforms.get(h.host.name)?.current ?? null,
  }));
  const versions = [...new Set(currents.map((c) => c.current))];
  if (versions.length <= 1) return;
  const where = currents.map((c) => `${c.host} on ${c.current ?? 'nothing'}`).join(', ');
  const record = await readEnvRecord(
    ctx.registry,
    ctx.config.registry.prefix,
    ctx.config.app.name,
    ctx.envCfg.name,
  );
  throw new FerryError(
    `the hosts of ${ctx.envCfg.name} run different releases (${where}): an earlier run was interrupted`,
    {
      remedy: `name the release to converge on: ferry rollback ${ctx.envCfg.name} --to ${record?.previous ?? versions.find((v) => v !== null) ?? '<version>'}`,
    },
  );
}

async function runFleetOp(
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

function revertHost(ctx: FleetContext, h: HostHandle, o: HostOutcome, version: string, cause: HostOutcome) {
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

function progress(ctx: FleetContext, h: HostHandle): (e: AgentEvent) => void {
  return (e) => {
    if (e.event === 'step' && e.step)
      ctx.log(`  ${h.host.name}  ${e.step}${e.reused ? ' (already on disk)' : ''}`);
    else if (e.event === 'retry')
      ctx.log(`  ${h.host.name}  retry ${String(e.attempt)} (${String(e.reason)})`);
  };
}

function hostLine(o: HostOutcome, version: string | null): string {
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
