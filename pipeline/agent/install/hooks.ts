// `agent deploy --hook`: the release's own commands around the switch. A hook runs in the release's
// directory, on the Node runtime the release pins (first on PATH), with the environment its workers get
// (service.json env < shared/.env). beforeSwitch runs once the release is installed and linked to shared/,
// before `current` moves: its failure stops this host with `current` untouched. afterSwitch runs once the
// release passed its health gate: its failure is reported, and the release keeps serving.
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { hookArgv, hostHookEnv } from '../../commands/hooks';
import { runHook } from '../../hooks/run';
import { describeHookRun, type HookRun, type HookSpec, type HostHookPhase } from '../../hooks/spec';
import type { AgentContext } from '../context';
import { AgentError } from '../errors';
import { writeJsonAtomic } from '../host/fsutil';
import { crashIfAt, enterStep, type Journal } from '../host/journal';
import type { HeldLock } from '../host/lock';
import { releaseDir } from '../host/paths';
import { processStartTicks } from '../host/proc';
import { findRuntime, runtimeNodePath } from '../runtime/layout';
import type { ServiceConfig } from '../service/config';
import { parseDotenv } from '../service/dotenv';
import { readMarker } from './releases';

export const HOOK_STEP = { beforeSwitch: 'before-switch', afterSwitch: 'after-switch' } as const;

/**
 * Runs the hooks of one phase in order and stops at the first that fails. Returns every run; a failed
 * beforeSwitch throws `hook_failed` instead, carrying the runs (the failed one last) in its details.
 */
export async function runPhase(
  ctx: AgentContext,
  config: ServiceConfig,
  phase: HostHookPhase,
  hooks: readonly HookSpec[],
  o: { journal: Omit<Journal, 'step' | 'pid'>; lock: HeldLock },
): Promise<HookRun[]> {
  const mine = hooks.filter((h) => h.phase === phase);
  if (mine.length === 0) return [];
  const { paths, env } = ctx;
  const version = o.journal.version;
  const step = HOOK_STEP[phase];
  await enterStep(paths, env, o.journal, step);
  const dir = releaseDir(paths, version);
  const runtimeBin = await runtimeBinOf(ctx, dir, version);
  let shared: Record<string, string> = {};
  try {
    shared = parseDotenv(await readFile(paths.sharedEnv, 'utf8'));
  } catch {
    shared = {};
  }
  const hookEnv = hostHookEnv({
    base: env,
    runtimeBin,
    serviceEnv: config.env,
    sharedEnv: shared,
    vars: {
      PORT: String(config.port),
      HOST: config.host,
      FERRY_RELEASE: version,
      FERRY_PREVIOUS: o.journal.from ?? '',
      FERRY_HOOK: phase,
    },
  });
  // A long hook must not make this live run's host lock look abandoned.
  const keepAlive = setInterval(
    () => void o.lock.refresh().catch(() => {}),
    Math.max(1000, (config.lockTtlSec * 1000) / 3),
  );
  try {
    return await runEach(ctx, mine, { ...o, step, dir, hookEnv, secrets: Object.values(shared) });
  } finally {
    clearInterval(keepAlive);
  }
}

async function runEach(
  ctx: AgentContext,
  mine: readonly HookSpec[],
  o: {
    journal: Omit<Journal, 'step' | 'pid'>;
    lock: HeldLock;
    step: (typeof HOOK_STEP)[HostHookPhase];
    dir: string;
    hookEnv: Record<string, string>;
    secrets: string[];
  },
): Promise<HookRun[]> {
  const { paths, report, env } = ctx;
  const { step } = o;
  const version = o.journal.version;
  const runs: HookRun[] = [];
  for (const h of mine) {
    const phase = h.phase;
    await o.lock.refresh();
    report.step(step, { version, run: h.run, timeoutSec: h.timeoutSec });
    const r = await runHook({
      phase,
      run: h.run,
      argv: hookArgv(h.run),
      cwd: o.dir,
      env: o.hookEnv,
      timeoutSec: h.timeoutSec,
      secrets: o.secrets,
      // Journaled, so a run that finds this agent killed can stop the hook it left behind.
      onStart: async (pid) => {
        await writeJsonAtomic(paths.journal, {
          ...o.journal,
          step,
          pid: process.pid,
          hook: { pid, startTicks: processStartTicks(pid), run: h.run },
        });
        crashIfAt('mid-hook', env);
      },
    });
    runs.push(r);
    report.event('hook', { step, ...r });
    report.say(`deploy: ${describeHookRun(r)}`);
    if (r.ok) continue;
    if (phase === 'afterSwitch') break;
    throw new AgentError('hook_failed', `${describeHookRun(r)}; ${version} was not switched to`, {
      step,
      details: { hook: r, hooks: runs },
      remedy: r.timedOut
        ? `make the hook finish within ${h.timeoutSec}s or raise hooks.beforeSwitch[].timeoutSeconds, then deploy again`
        : 'fix what the hook reports (its output is above), then deploy again; the release is not marked bad',
    });
  }
  await o.lock.refresh();
  return runs;
}

/** afterSwitch never fails the deploy: even a hook that could not start is a failed run, reported. */
export async function runAfterSwitch(
  ctx: AgentContext,
  config: ServiceConfig,
  hooks: readonly HookSpec[],
  o: { journal: Omit<Journal, 'step' | 'pid'>; lock: HeldLock },
): Promise<HookRun[]> {
  try {
    return await runPhase(ctx, config, 'afterSwitch', hooks, o);
  } catch (err) {
    const message = (err as Error).message;
    ctx.report.say(`deploy: afterSwitch hooks could not run: ${message}`);
    const failed: HookRun = {
      phase: 'afterSwitch',
      run: '(afterSwitch hooks)',
      ok: false,
      exitCode: null,
      signal: null,
      timedOut: false,
      durationMs: 0,
      output: [message],
    };
    return [failed];
  }
}

/** The bin/ of the runtime the release pins, as the supervisor resolves it; else the agent's own node. */
async function runtimeBinOf(ctx: AgentContext, dir: string, version: string): Promise<string> {
  const marker = await readMarker(dir);
  if (!marker?.runtime) return dirname(process.execPath);
  const installed = await findRuntime(ctx.paths, marker.runtime);
  if (!installed) {
    throw new AgentError(
      'hook_failed',
      `${version} pins node ${marker.runtime.version} (${marker.runtime.arch}), which is not installed here, so its hooks cannot run`,
      { remedy: 'deploy again: the runtime is installed before the release' },
    );
  }
  return dirname(runtimeNodePath(installed.dir));
}
