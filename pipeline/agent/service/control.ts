// Controlling the supervisor from the agent. Reload is a SIGHUP in both modes: the supervisor runs as the
// deploy user, so no sudo is needed (systemd's ExecReload sends the same signal). Process mode also
// starts and stops it here; in systemd mode start/stop belong to systemctl, which the CLI runs.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { AgentError } from '../errors';
import type { HostPaths } from '../host/paths';
import { isProcessAlive, sleep } from '../host/proc';
import type { ServiceConfig } from './config';
import { readSupervisorState, runningSupervisor, type SupervisorState } from './supervisor-state';

export interface ServiceOutcome {
  ok: boolean;
  pid: number | null;
  state: SupervisorState | null;
  error?: string;
  already?: boolean;
}

/** How long to wait for a start or reload: the supervisor's own listen timeout plus slack. */
function waitBudgetMs(config: ServiceConfig): number {
  return (config.startTimeoutSec + 15) * 1000;
}

/** Waits until the supervisor `pid` has finished a load attempt that began at or after `sinceMs`. */
async function waitForAttempt(
  paths: HostPaths,
  pid: number,
  sinceMs: number,
  budgetMs: number,
): Promise<ServiceOutcome> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const state = await readSupervisorState(paths);
    const r = state?.pid === pid ? state.lastReload : null;
    if (state && r && r.startedAtMs >= sinceMs) {
      return r.ok ? { ok: true, pid, state } : { ok: false, pid, state, error: r.error ?? 'reload failed' };
    }
    if (!isProcessAlive(pid)) {
      return {
        ok: false,
        pid,
        state,
        error: `the supervisor (pid ${pid}) exited; see ${paths.serviceLog} or journalctl`,
      };
    }
    if (Date.now() > deadline) {
      return {
        ok: false,
        pid,
        state,
        error: `the supervisor (pid ${pid}) did not report a reload within ${budgetMs} ms`,
      };
    }
    await sleep(100);
  }
}

/** Process mode: spawns `agent supervise` detached (its own session), logging to .ferry/logs/service.log. */
export async function startService(paths: HostPaths, config: ServiceConfig): Promise<ServiceOutcome> {
  const running = await runningSupervisor(paths);
  if (running !== null) {
    return { ok: true, pid: running, state: await readSupervisorState(paths), already: true };
  }
  if (config.mode === 'systemd') {
    throw new AgentError('service_down', `the ${config.unitName} unit is not running`, {
      remedy: `sudo systemctl start ${config.unitName} (ferry setup does this)`,
    });
  }
  await mkdir(paths.logs, { recursive: true });
  const log = openSync(paths.serviceLog, 'a', 0o640);
  const sinceMs = Date.now();
  // The agent re-runs itself: process.argv[1] is the bundle on hosts (or main.ts under tsx in development,
  // where execArgv carries the loader).
  const script = process.argv[1] as string;
  const child = spawn(process.execPath, [...process.execArgv, script, 'supervise', '--root', paths.root], {
    detached: true,
    stdio: ['ignore', log, log],
    cwd: paths.root,
    env: process.env,
  });
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new AgentError('service_down', 'could not spawn the supervisor');
  return waitForAttempt(paths, pid, sinceMs, waitBudgetMs(config));
}

export async function stopService(paths: HostPaths, config: ServiceConfig): Promise<ServiceOutcome> {
  const pid = await runningSupervisor(paths);
  if (pid === null) return { ok: true, pid: null, state: await readSupervisorState(paths), already: true };
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + (config.drainTimeoutSec + 10) * 1000;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) {
      return {
        ok: false,
        pid,
        state: await readSupervisorState(paths),
        error: `pid ${pid} did not stop in time`,
      };
    }
    await sleep(100);
  }
  return { ok: true, pid, state: await readSupervisorState(paths) };
}

/** SIGHUP and wait for the supervisor to report a reload that started after the signal. */
export async function reloadService(paths: HostPaths, config: ServiceConfig): Promise<ServiceOutcome> {
  const pid = await runningSupervisor(paths);
  if (pid === null) {
    throw new AgentError('service_down', 'the supervisor is not running', {
      remedy:
        config.mode === 'systemd'
          ? `sudo systemctl start ${config.unitName}`
          : 'run `agent service start` (a deploy starts it by itself)',
    });
  }
  const sinceMs = Date.now();
  process.kill(pid, 'SIGHUP');
  return waitForAttempt(paths, pid, sinceMs, waitBudgetMs(config));
}

/**
 * What a deploy or rollback needs after switching `current`: the supervisor serving what `current` now
 * points to. Reloads a running supervisor; starts one in process mode. Throws reload_failed otherwise.
 */
export async function serveCurrent(paths: HostPaths, config: ServiceConfig, expectedVersion: string | null) {
  const running = await runningSupervisor(paths);
  const outcome = running === null ? await startService(paths, config) : await reloadService(paths, config);
  if (!outcome.ok) {
    throw new AgentError('reload_failed', `the service did not load the release: ${outcome.error}`, {
      step: 'reload',
      remedy: `see ${paths.serviceLog} (process mode) or journalctl -u ${config.unitName || '<unit>'}`,
    });
  }
  const serving = outcome.state?.version ?? null;
  if (serving !== expectedVersion) {
    throw new AgentError(
      'reload_failed',
      `the supervisor serves ${serving ?? 'nothing'}, expected ${expectedVersion ?? 'nothing'}`,
      {
        step: 'reload',
      },
    );
  }
  return outcome;
}
