import { statusEnv } from '../../deploy/status';
import { ExitCode } from '../../exit-codes';
import type { Command } from '../command';
import { fleetContext } from '../fleet';
import { table } from '../io';
import { printRegistryStatus } from '../registry-status';

export const command: Command = {
  usage: 'ferry status <env> [--from-registry] [--json]',
  help: `Shows, per host of <env>: the current and previous release, the releases on disk (bad ones
marked), health and the version answering, the Node runtime serving, the agent version (and its Node), the host lock holder, and the last action
with its result, and which hosts are in maintenance mode. Also the environment's lock and last recorded deploy. Reads only; takes no lock.

options:
      --from-registry   no SSH: what each pull-mode host last reported to the registry (version, last
                        sync and its result, errors), and the environment's channel (docs/pull.md)

examples:
  ferry status production
  ferry status production --json | jq '.hosts[] | {host, current}'`,
  options: { 'from-registry': { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const fleet = fleetContext(ctx);
    if (ctx.flags['from-registry'] === true) return printRegistryStatus(ctx, fleet);
    const s = await statusEnv(fleet);
    ctx.out.result({ ok: true, ...s });
    if (ctx.out.json) return ExitCode.Ok;
    const rows = s.hosts.map((h) => {
      if (!h.reachable) return [h.host, 'UNREACHABLE', '-', '-', '-', '-', '-', '-', h.error ?? ''];
      const last = h.lastAction as { op?: string; version?: string; result?: string; time?: string } | null;
      return [
        h.host,
        h.current ?? '-',
        h.previous ?? '-',
        (h.releases ?? []).map((r) => (r.bad ? `${r.version}(bad)` : r.version)).join(' ') || '-',
        h.health?.ok
          ? `ok ${h.health.version ?? ''}`.trim()
          : `DOWN${h.health?.error ? ` ${h.health.error}` : ''}`,
        h.runtime?.serving?.node ?? '-',
        h.agentVersion ? `${h.agentVersion} (node ${h.runtime?.agent.node ?? '?'})` : '-',
        h.lock ? `held by ${(h.lock as { who?: string }).who ?? '?'}` : '-',
        last
          ? `${last.op} ${last.version ?? ''} ${last.result ?? ''} ${last.time ?? ''}`.replace(/\s+/g, ' ')
          : '-',
      ];
    });
    for (const l of table(
      ['HOST', 'CURRENT', 'PREVIOUS', 'ON DISK', 'HEALTH', 'NODE', 'AGENT', 'LOCK', 'LAST ACTION'],
      rows,
    )) {
      ctx.out.print(l);
    }
    ctx.out.print('');
    for (const h of s.hosts) {
      const m = h.maintenance;
      if (m?.on) {
        ctx.out.print(
          ctx.style.yellow(
            `${h.host}: in maintenance since ${m.since} by ${m.by} ("${m.message}")${m.applied ? '' : '; not applied yet: the service is not running or predates it'}`,
          ),
        );
      } else if (m && !m.applied && h.service && (h.service as { running?: boolean }).running) {
        ctx.out.print(
          ctx.style.yellow(`${h.host}: maintenance was turned off, but the service has not applied it`),
        );
      }
    }
    if (s.lock)
      ctx.out.print(
        ctx.style.yellow(`environment locked by ${s.lock.who} since ${s.lock.since} (${s.lock.op})`),
      );
    if (s.record) ctx.out.print(`recorded: ${s.record.version} by ${s.record.by} at ${s.record.updatedAt}`);
    ctx.out.print(
      s.converged
        ? ctx.style.green('all hosts on one version')
        : ctx.style.yellow('hosts differ or are unreachable'),
    );
    return ExitCode.Ok;
  },
};
