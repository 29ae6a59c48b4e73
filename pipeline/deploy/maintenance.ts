// `ferry maintenance <env> on|off`: each host's agent saves the setting and has its supervisor apply it
// (docs/agent.md); the change goes into the environment's audit log. Hosts are independent: one that
// fails is reported and the others keep the new setting, since a half-applied maintenance is visible in
// `ferry status` and re-running converges.
import type { MaintenanceArgs } from '../commands/agent';
import { runAgent } from './agent-client';
import { appendAudit } from './audit';
import type { FleetContext } from './context';
import { selectHosts } from './logs';
import { mapLimit } from './plan';
import { closeHosts, openHosts } from './session';

export interface HostMaintenance {
  host: string;
  ok: boolean;
  /** The host's workers run with it now (false when the service is not running: it applies at start). */
  applied: boolean;
  running: boolean;
  workers: number;
  error?: string;
}

export async function setFleetMaintenance(
  ctx: FleetContext,
  args: MaintenanceArgs & { host?: string },
): Promise<HostMaintenance[]> {
  const { config, envCfg } = ctx;
  const hosts = await openHosts({ ...envCfg, hosts: selectHosts(envCfg.hosts, args.host) }, ctx.env);
  const started = Date.now();
  let results: HostMaintenance[];
  try {
    const { host: _host, ...agentArgs } = args;
    results = await mapLimit(hosts, envCfg.concurrency, async (h): Promise<HostMaintenance> => {
      const r = await runAgent(h.t, h.host.path, 'maintenance', agentArgs, {
        who: ctx.who,
        timeoutMs: 60_000,
      });
      const base = {
        host: h.host.name,
        ok: r.ok,
        applied: r.applied === true,
        running: r.running === true,
        workers: typeof r.workers === 'number' ? r.workers : 0,
      };
      if (r.ok) return base;
      const old = r.error?.code === 'usage' && /unknown command "maintenance"/.test(r.error.message);
      return {
        ...base,
        error: old
          ? 'its agent is older than this CLI and has no `maintenance`; run `ferry setup <env>` to update it'
          : `${r.error?.message ?? 'failed'}${r.error?.remedy ? ` (${r.error.remedy})` : ''}`,
      };
    });
  } finally {
    await closeHosts(hosts);
  }
  const what =
    args.action === 'on'
      ? `maintenance on${args.message ? `: ${args.message}` : ''}${args.retryAfterSec ? ` (Retry-After ${args.retryAfterSec}s)` : ''}`
      : 'maintenance off';
  await appendAudit(ctx.registry, config.registry.prefix, config.app.name, {
    time: new Date().toISOString(),
    env: envCfg.name,
    who: ctx.who,
    op: 'maintenance',
    result: results.every((r) => r.ok) ? 'note' : 'failed',
    hosts: results.map((r) => ({ host: r.host, ok: r.ok, ...(r.error ? { error: r.error } : {}) })),
    error: what,
    durationMs: Date.now() - started,
  });
  return results;
}
