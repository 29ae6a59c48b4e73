// Bake time: after a batch passed its gate, the next batch waits while this one is watched in production.
// A worker that crashes, or a health check that fails, during the bake counts as a failed gate: the
// rollout halts, the release is marked bad and every host switched so far is returned.
import { sleep } from '../agent/host/proc';
import { runAgent } from './agent-client';
import type { FleetContext } from './context';
import { mapLimit } from './plan';
import type { HostOutcome } from './rollout';
import type { HostHandle } from './session';

type BakeFailure = { host: string; error: NonNullable<HostOutcome['error']> };

interface Observed {
  crashes: number;
  last: string | null;
  health: { ok: boolean; version?: string; status?: number; error?: string } | null;
  error?: string;
}

async function observe(h: HostHandle): Promise<Observed> {
  const r = await runAgent(h.t, h.host.path, 'status', {}, { timeoutMs: 30_000 });
  if (!r.ok) return { crashes: 0, last: null, health: null, error: r.error?.message ?? 'status failed' };
  const service = r.service as { crashes?: { total?: number; last?: string | null } } | undefined;
  return {
    crashes: service?.crashes?.total ?? 0,
    last: service?.crashes?.last ?? null,
    health: (r.health as Observed['health']) ?? null,
  };
}

export async function bakeBatch(
  ctx: FleetContext,
  hosts: HostHandle[],
  version: string,
  seconds: number,
  pollMs = 2000,
): Promise<BakeFailure | null> {
  ctx.log(
    `  baking: watching ${hosts.map((h) => h.host.name).join(', ')} for ${seconds}s before the next batch`,
  );
  const baseline = new Map<string, number>();
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const seen = await mapLimit(hosts, ctx.envCfg.concurrency, async (h) => ({ h, o: await observe(h) }));
    for (const { h, o } of seen) {
      const name = h.host.name;
      if (o.error) {
        // Not the release's fault as far as we know: the hosts go back, the version stays deployable.
        return {
          host: name,
          error: {
            code: 'transport',
            step: 'bake',
            message: `could not watch ${name} during the bake: ${o.error}`,
          },
        };
      }
      const before = baseline.get(name);
      if (before === undefined) baseline.set(name, o.crashes);
      else if (o.crashes > before) {
        return {
          host: name,
          error: {
            code: 'bake_failed',
            step: 'bake',
            message: `a worker of ${version} crashed during the bake: ${o.last ?? 'no detail'}`,
          },
        };
      }
      if (!o.health?.ok || o.health.version !== version) {
        const answer =
          o.health?.error ??
          (o.health?.ok ? `version ${o.health.version ?? '?'}` : `HTTP ${o.health?.status ?? '?'}`);
        return {
          host: name,
          error: {
            code: 'bake_failed',
            step: 'bake',
            message: `${version} failed its health check during the bake: ${answer}`,
          },
        };
      }
    }
    const left = deadline - Date.now();
    if (left <= 0) return null;
    await sleep(Math.min(pollMs, left));
  }
}
