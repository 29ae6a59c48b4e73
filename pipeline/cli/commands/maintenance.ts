import { parseDuration } from '../../agent/logs/since';
import { MAX_MESSAGE_LENGTH } from '../../agent/service/maintenance';
import { setFleetMaintenance } from '../../deploy/maintenance';
import { UsageError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import type { Command } from '../command';
import { fleetContext, table } from '../fleet';

const USAGE = 'ferry maintenance <env> on|off [--message TEXT] [--retry-after 5m] [--host NAME]';

export const command: Command = {
  usage: USAGE,
  help: `Turns maintenance mode on or off on every host of <env> (or one). While it is on, every request
to the app is answered 503 with a JSON body ({"error":{"code":"maintenance","message":…},"retryAfter":N})
and a Retry-After header, on new and already-open connections, except the health and version paths: load
balancers keep the hosts, deploys still pass their health gate, and the app keeps running. It survives a
restart of the service or of the host, shows in \`ferry status\`, and goes into the audit log.

options:
      --message TEXT      what users read (default: "This service is down for maintenance. Please try
                          again later."), at most ${MAX_MESSAGE_LENGTH} characters
      --retry-after DUR   the Retry-After header: seconds, or 30s, 5m, 2h (default 5m)
      --host NAME         only this host

examples:
  ferry maintenance production on --message "Back at 10:00 UTC" --retry-after 30m
  ferry maintenance production off`,
  options: { message: { type: 'string' }, 'retry-after': { type: 'string' }, host: { type: 'string' } },
  positionals: { min: 2, max: 2 },
  async run(ctx) {
    const action = ctx.positionals[1];
    if (action !== 'on' && action !== 'off') {
      throw new UsageError(`maintenance is "on" or "off", not "${action}"`, { remedy: `usage: ${USAGE}` });
    }
    const message = typeof ctx.flags.message === 'string' ? ctx.flags.message : undefined;
    if (message !== undefined && (message.trim() === '' || message.length > MAX_MESSAGE_LENGTH)) {
      throw new UsageError(`--message must be 1 to ${MAX_MESSAGE_LENGTH} characters`);
    }
    const retryFlag = ctx.flags['retry-after'];
    let retryAfterSec: number | undefined;
    if (typeof retryFlag === 'string') {
      const ms = parseDuration(retryFlag);
      if (ms === null || ms < 1000) {
        throw new UsageError(`--retry-after "${retryFlag}" is not a duration of at least 1s`, {
          remedy: 'e.g. --retry-after 300 or --retry-after 5m',
        });
      }
      retryAfterSec = Math.round(ms / 1000);
    }
    if (action === 'off' && (message !== undefined || retryAfterSec !== undefined)) {
      throw new UsageError('--message and --retry-after go with `on`', { remedy: `usage: ${USAGE}` });
    }
    const fleet = fleetContext(ctx);
    const hosts = await setFleetMaintenance(fleet, {
      action,
      ...(message !== undefined ? { message } : {}),
      ...(retryAfterSec !== undefined ? { retryAfterSec } : {}),
      ...(typeof ctx.flags.host === 'string' ? { host: ctx.flags.host } : {}),
    });
    const failed = hosts.filter((h) => !h.ok);
    ctx.out.result({ ok: failed.length === 0, env: fleet.envCfg.name, maintenance: action, hosts });
    const rows = hosts.map((h) => [
      h.host,
      h.ok ? action : 'FAILED',
      h.ok
        ? h.applied
          ? `${h.workers} worker(s) confirmed`
          : 'saved; the service is not running, it applies when it starts'
        : (h.error ?? ''),
    ]);
    for (const l of table(['HOST', 'MAINTENANCE', 'NOTE'], rows)) ctx.out.print(l);
    return failed.length > 0 ? ExitCode.Failure : ExitCode.Ok;
  },
};
