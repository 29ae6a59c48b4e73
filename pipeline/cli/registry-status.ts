// The --from-registry view of `ferry status`: printed from what pull-mode hosts report to the registry.
import { registryStatus } from '../channels/fleet-status';
import type { FleetContext } from '../deploy/context';
import { ExitCode } from '../exit-codes';
import type { CommandContext } from './command';
import { table } from './fleet';

export async function printRegistryStatus(ctx: CommandContext, fleet: FleetContext): Promise<number> {
  const s = await registryStatus(fleet);
  ctx.out.result({ ok: true, ...s });
  if (ctx.out.json) return ExitCode.Ok;
  const ago = (iso?: string) => {
    if (!iso) return '-';
    const secs = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return secs < 120
      ? `${secs}s ago`
      : secs < 7200
        ? `${Math.round(secs / 60)}m ago`
        : `${Math.round(secs / 3600)}h ago`;
  };
  const rows = s.hosts.map((h) => [
    h.host + (h.unknown ? ' (not in releases.yaml)' : ''),
    h.missing ? 'NO REPORT' : (h.version ?? '-'),
    h.previous ?? '-',
    h.missing ? '-' : `${h.result}${h.changed ? ' (switched)' : ''}${h.stale ? ' STALE' : ''}`,
    ago(h.lastSync),
    h.channel ? `${h.channel.version}#${h.channel.sequence}` : '-',
    h.agentVersion ?? '-',
    h.error ? `${h.error.code}: ${h.error.message}` : '',
  ]);
  for (const l of table(
    ['HOST', 'VERSION', 'PREVIOUS', 'RESULT', 'LAST SYNC', 'CHANNEL', 'AGENT', 'NOTE'],
    rows,
  )) {
    ctx.out.print(l);
  }
  ctx.out.print('');
  const c = s.channel;
  if (!c) ctx.out.print(ctx.style.yellow(`no channel for ${s.env}: ferry promote <version> ${s.env}`));
  else {
    const line = `channel: ${c.version} (sequence ${c.sequence}, by ${c.by}, expires ${c.expiresAt})`;
    if (c.signatureOk === false) ctx.out.print(ctx.style.red(`${line}: SIGNATURE INVALID (${c.problem})`));
    else if (c.expired)
      ctx.out.print(ctx.style.red(`${line}: EXPIRED, hosts refuse it (ferry promote --refresh ${s.env})`));
    else ctx.out.print(line);
  }
  if (s.lock)
    ctx.out.print(
      ctx.style.yellow(`environment locked by ${s.lock.who} since ${s.lock.since} (${s.lock.op})`),
    );
  ctx.out.print(
    s.converged
      ? ctx.style.green('every host reports the channel version')
      : ctx.style.yellow('hosts differ from the channel, failed, or have not reported recently'),
  );
  return ExitCode.Ok;
}
