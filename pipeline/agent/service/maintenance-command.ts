// `agent maintenance on|off`: writes .ferry/maintenance.json, then has the running supervisor apply it
// (SIGUSR2) and waits until supervisor.json shows every worker confirmed. No host lock: it changes no
// release, and a deploy during maintenance is the usual reason to turn it on (the gate probes the health
// paths, which maintenance never refuses).
import type { AgentContext } from '../context';
import { AgentError } from '../errors';
import { sleep } from '../host/proc';
import { appendHistory } from '../host/state';
import type { OpOutcome } from '../outcome';
import { loadServiceConfig } from './config';
import { MAX_MESSAGE_LENGTH, newMaintenanceFlag, writeMaintenanceFlag } from './maintenance';
import { readSupervisorState, runningSupervisor } from './supervisor-state';

const APPLY_WAIT_MS = 10_000;

export interface MaintenanceArgs {
  /** `on` or `off`; anything else is a usage error. */
  action: string | undefined;
  message?: string;
  retryAfterSec?: number;
}

export async function setMaintenance(ctx: AgentContext, args: MaintenanceArgs): Promise<OpOutcome> {
  const { paths } = ctx;
  if (args.action !== 'on' && args.action !== 'off') {
    throw new AgentError('usage', 'maintenance needs one of: on, off', {
      remedy: 'agent maintenance on|off --root DIR [--message TEXT] [--retry-after SECONDS]',
    });
  }
  const { message } = args;
  if (message !== undefined && (message.trim() === '' || message.length > MAX_MESSAGE_LENGTH)) {
    throw new AgentError('usage', `--message must be 1 to ${MAX_MESSAGE_LENGTH} characters`);
  }
  const on = args.action === 'on';
  const opts = { message, retryAfterSec: args.retryAfterSec };
  const config = await loadServiceConfig(paths.serviceConfig);
  const flag = newMaintenanceFlag(on, ctx.who, opts);
  await writeMaintenanceFlag(paths, flag);
  await appendHistory(paths, {
    who: ctx.who,
    op: 'maintenance',
    version: null,
    from: null,
    result: 'note',
    note: on ? `maintenance on: ${flag.message} (Retry-After ${flag.retryAfterSec}s)` : 'maintenance off',
  });
  const fields = { on, maintenance: flag, running: false, applied: false, workers: 0 };
  const pid = await runningSupervisor(paths);
  if (pid === null) {
    // The file is what counts: the supervisor applies it before its first worker takes traffic.
    return {
      ok: true,
      fields: { ...fields, note: 'the service is not running; this applies when it starts' },
    };
  }
  const restart =
    config.mode === 'systemd'
      ? `sudo systemctl restart ${config.unitName}`
      : 'agent service stop, then agent service start';
  // A supervisor that just started may not have written its state yet; one from an older agent never
  // records maintenance, and must not get SIGUSR2 (with no handler, the signal would kill it).
  const deadline = Date.now() + APPLY_WAIT_MS;
  let state = await readSupervisorState(paths);
  while (state?.pid !== pid && Date.now() < deadline) {
    await sleep(100);
    state = await readSupervisorState(paths);
  }
  if (state?.pid !== pid || state.maintenance === undefined) {
    return {
      ok: false,
      fields: { ...fields, running: true },
      error: new AgentError(
        'maintenance_failed',
        `the running supervisor (pid ${pid}) predates maintenance mode, so it cannot apply it now; it will at its next start`,
        { remedy: `restart the service so it runs this agent's supervisor: ${restart}` },
      ),
    };
  }
  process.kill(pid, 'SIGUSR2');
  for (;;) {
    const s = await readSupervisorState(paths);
    const m = s?.pid === pid ? s.maintenance : undefined;
    if (m && m.id === flag.id) {
      const done = { ...fields, running: true, applied: true, workers: m.workers };
      if (m.missing.length === 0) return { ok: true, fields: done };
      return {
        ok: false,
        fields: { ...done, missing: m.missing },
        error: new AgentError(
          'maintenance_failed',
          `worker(s) ${m.missing.join(', ')} did not confirm maintenance ${on ? 'on' : 'off'}`,
          { remedy: `run the command again; if it persists, ${restart}` },
        ),
      };
    }
    if (Date.now() > deadline) {
      return {
        ok: false,
        fields: { ...fields, running: true },
        error: new AgentError(
          'maintenance_failed',
          `the supervisor (pid ${pid}) did not report maintenance ${on ? 'on' : 'off'} within ${APPLY_WAIT_MS / 1000}s`,
          {
            remedy: `see the service log (ferry logs); the setting is saved and applies at the next start: ${restart}`,
          },
        ),
      };
    }
    await sleep(50);
  }
}
