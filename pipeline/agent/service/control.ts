// Controlling the supervisor from the agent. Reload is a SIGHUP in both modes: the supervisor runs as the
// deploy user, so no sudo is needed (systemd's ExecReload sends the same signal). Process mode also
// starts and stops it here; in systemd mode start/stop belong to systemctl, which the CLI runs.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { AgentError } from '../errors';
import { writeJsonAtomic } from '../host/fsutil';
import type { HostPaths } from '../host/paths';
import { isProcessAlive, sleep } from '../host/proc';
import type { ServiceConfig } from './config';
import { describeProbe } from './health';
import { readSupervisorState, runningSupervisor, type SupervisorState } from './supervisor-state';

export interface ServiceOutcome {
  ok: boolean;
  pid: number | null;
  state: SupervisorState | null;
  error?: string;
  already?: boolean;
}

/** What the agent asks of the next reload; the supervisor reads it when the SIGHUP (or its start) comes. */
export interface ReloadRequest {
  requestedAtMs: number;
  /** How long the new generation may take to pass the health gate (a deploy's --health-timeout). */
  healthTimeoutSec: number;
}

async function writeReloadRequest(paths: HostPaths, healthTimeoutSec: number): Promise<void> {
  const request: ReloadRequest = { requestedAtMs: Date.now(), healthTimeoutSec };
  await writeJsonAtomic(paths.reloadRequest, request, { sync: false });
}

/** How long to wait for a start or reload: the listen timeout and the health gate, plus slack. */
function waitBudgetMs(config: ServiceConfig, healthTimeoutSec: number): number {
  return (config.startTimeoutSec + healthTimeoutSec + 15) * 1000;
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
        error: `the supervisor (pid ${pid}) exited; see ${paths.serviceLog} and ${paths.supervisorOut}, or journalctl`,
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

/**
 * Process mode: spawns `agent supervise` detached (its own session). It writes and rotates
 * .ferry/logs/service.log itself; its raw stdout/stderr (a failure before that log opens, Node's own
 * warnings) go to logs/supervisor.out, truncated at each start so it stays small.
 */
export async function startService(
  paths: HostPaths,
  config: ServiceConfig,
  healthTimeoutSec = config.healthTimeoutSec,
): Promise<ServiceOutcome> {
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
  await writeReloadRequest(paths, healthTimeoutSec);
  const log = openSync(paths.supervisorOut, 'w', 0o640);
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
  return waitForAttempt(paths, pid, sinceMs, waitBudgetMs(config, healthTimeoutSec));
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
export async function reloadService(
  paths: HostPaths,
  config: ServiceConfig,
  healthTimeoutSec = config.healthTimeoutSec,
): Promise<ServiceOutcome> {
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
  await writeReloadRequest(paths, healthTimeoutSec);
  process.kill(pid, 'SIGHUP');
  return waitForAttempt(paths, pid, sinceMs, waitBudgetMs(config, healthTimeoutSec));
}

/**
 * What a deploy or rollback needs after switching `current`: the supervisor serving what `current` now
 * points to, its new generation proven healthy before it took any traffic. Reloads a running supervisor;
 * starts one in process mode. A generation refused at the gate is health_failed; one that never came up
 * (crashed, did not listen) is reload_failed. Either way the error carries the workers' last output.
 */
export async function serveCurrent(
  paths: HostPaths,
  config: ServiceConfig,
  expectedVersion: string | null,
  healthTimeoutSec = config.healthTimeoutSec,
) {
  const running = await runningSupervisor(paths);
  const outcome =
    running === null
      ? await startService(paths, config, healthTimeoutSec)
      : await reloadService(paths, config, healthTimeoutSec);
  const logHint =
    config.mode === 'systemd' ? `journalctl -u ${config.unitName || '<unit>'}` : paths.serviceLog;
  if (!outcome.ok) {
    const failure = outcome.state?.lastReload?.failure;
    const details = failure
      ? { output: failure.output, ...(failure.probe ? { probe: failure.probe } : {}) }
      : undefined;
    if (failure?.probe && expectedVersion) {
      throw new AgentError(
        'health_failed',
        `${expectedVersion} failed its health check within ${healthTimeoutSec}s, before it took any traffic: ${describeProbe(failure.probe, expectedVersion)}`,
        {
          step: 'health',
          remedy: `the new workers' last output is in the result (more in ${logHint}); raise --health-timeout if the app is just slow to boot`,
          details,
        },
      );
    }
    throw new AgentError('reload_failed', `the service did not load the release: ${outcome.error}`, {
      step: 'reload',
      remedy: `the new workers' last output is in the result (more in ${logHint})`,
      details,
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
