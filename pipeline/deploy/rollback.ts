// `ferry rollback` across an environment: every host at once back to a release it already has, through
// the same lock, agent check and gate as a deploy (fleet-op.ts).

import { FerryError } from '../errors';
import { readEnvRecord } from '../registry/env-record';
import { checkVersion } from '../release/manifest';
import { runAgent } from './agent-client';
import type { FleetContext } from './context';
import { type FleetRunResult, hostLine, progress, runFleetOp } from './fleet-op';
import { rollout } from './rollout';
import type { HostHandle, HostPlatformInfo } from './session';

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
