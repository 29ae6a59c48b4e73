// The agent's command line as a function: runAgent(argv, io) → exit code. main.ts only wires it to
// process. Every command ends with exactly one {"event":"result"} line on stdout (docs/agent.md).
import { hostname, userInfo } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ExitCode } from '../exit-codes';
import { type HookSpec, parseHookFlag } from '../hooks/spec';
import type { AgentContext } from './context';
import { AgentError, errorJson } from './errors';
import { acquireLock, breakLock, readLock } from './host/lock';
import { hostPaths } from './host/paths';
import { recoverLeftover } from './host/recover';
import { appendHistory, readHistory, readState } from './host/state';
import { status } from './host/status';
import { deploy } from './install/deploy';
import { pruneReleases } from './install/prune';
import { rollback } from './install/rollback';
import { currentVersion } from './install/switch';
import { logs } from './logs/command';
import type { OpOutcome } from './outcome';
import { type AgentIO, Reporter } from './output';
import { sync } from './pull/sync';
import { hostPlatform } from './runtime/host';
import { loadServiceConfig } from './service/config';
import { reloadService, startService, stopService } from './service/control';
import { setMaintenance } from './service/maintenance-command';
import { openServiceLog } from './service/service-log';
import { Supervisor } from './service/supervisor';
import { readSupervisorState, runningSupervisor } from './service/supervisor-state';
import { AGENT_FEATURES, AGENT_PROTOCOL, AGENT_VERSION } from './version';

type Flags = Record<string, string | boolean | string[] | undefined>;
type Spec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

const COMMON: Spec = { root: { type: 'string' }, who: { type: 'string' } };
const SPECS: Record<string, Spec> = {
  version: {},
  deploy: {
    version: { type: 'string' },
    'manifest-url': { type: 'string' },
    'signature-url': { type: 'string' },
    'artifact-url': { type: 'string' },
    'runtime-url': { type: 'string', multiple: true },
    'health-timeout': { type: 'string' },
    'allow-bad': { type: 'boolean' },
    keep: { type: 'string' },
    hook: { type: 'string', multiple: true },
  },
  rollback: {
    to: { type: 'string' },
    'no-mark-bad': { type: 'boolean' },
    'allow-bad': { type: 'boolean' },
    'health-timeout': { type: 'string' },
  },
  status: { 'no-health': { type: 'boolean' } },
  sync: { 'health-timeout': { type: 'string' } },
  history: { limit: { type: 'string' } },
  unlock: {},
  prune: { keep: { type: 'string' } },
  recover: {},
  supervise: {},
  service: {},
  logs: {
    follow: { type: 'boolean' },
    since: { type: 'string' },
    lines: { type: 'string' },
    release: { type: 'string' },
  },
  maintenance: { message: { type: 'string' }, 'retry-after': { type: 'string' } },
};

export const AGENT_USAGE = `usage: agent <command> --root DIR [--who USER@HOST] [flags]
  version
  deploy --version V --manifest-url U --signature-url U --artifact-url U [--runtime-url ARCH=U]...
         [--health-timeout S] [--allow-bad] [--keep N] [--hook PHASE:TIMEOUT:COMMAND]...
  rollback [--to V] [--no-mark-bad] [--allow-bad] [--health-timeout S]
  sync [--health-timeout S]     (pull mode: converge to the environment's channel, .ferry/pull.json)
  status [--no-health]          history [--limit N]          unlock
  prune [--keep N]              recover                      supervise
  service start|stop|reload|status
  logs [--follow] [--since 10m|TIME] [--lines N] [--release V]
  maintenance on|off [--message TEXT] [--retry-after SECONDS]`;

function usage(message: string): AgentError {
  return new AgentError('usage', message, { remedy: AGENT_USAGE });
}

function int(flags: Flags, name: string, min = 0): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isSafeInteger(n) || n < min)
    throw usage(`--${name} must be an integer >= ${min}`);
  return n;
}

/** `--runtime-url x64=URL` (repeatable): the CLI passes one per arch the release ships; we take ours. */
function runtimeUrls(values: Flags[string]): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const v of Array.isArray(values) ? values : [String(values)]) {
    const m = /^(x64|arm64)=(.+)$/.exec(v);
    if (!m) throw usage(`--runtime-url must be ARCH=URL with ARCH x64 or arm64, got "${v.slice(0, 20)}…"`);
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

/** `--hook beforeSwitch:300:COMMAND` (repeatable, in order): what the CLI chose for this host. */
function hookFlags(values: Flags[string]): HookSpec[] | undefined {
  if (values === undefined) return undefined;
  return (Array.isArray(values) ? values : [String(values)]).map((v) => {
    const spec = parseHookFlag(v);
    if (typeof spec === 'string') throw usage(spec);
    return spec;
  });
}

function need(flags: Flags, name: string): string {
  const v = flags[name];
  if (typeof v !== 'string' || v.length === 0) throw usage(`--${name} is required`);
  return v;
}

export async function runAgent(argv: string[], io: AgentIO): Promise<number> {
  const [command = '', ...rest] = argv;
  const report = new Reporter(io, command || 'help');
  try {
    if (command === 'help' || command === '--help' || command === '-h') {
      report.say(AGENT_USAGE);
      report.result(true, { usage: AGENT_USAGE });
      return ExitCode.Ok;
    }
    const spec = SPECS[command];
    if (!spec) throw usage(command ? `unknown command "${command}"` : 'no command given');
    let parsed: { values: Flags; positionals: string[] };
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...COMMON, ...spec },
        strict: true,
        allowPositionals: command === 'service' || command === 'maintenance',
      }) as {
        values: Flags;
        positionals: string[];
      };
    } catch (err) {
      throw usage((err as Error).message);
    }
    const flags = parsed.values;
    if (command === 'version') {
      const platform = hostPlatform();
      const root = typeof flags.root === 'string' && isAbsolute(flags.root) ? flags.root : null;
      report.result(true, {
        agentVersion: AGENT_VERSION,
        protocol: AGENT_PROTOCOL,
        node: process.version,
        // What the CLI checks a release's runtime against before it touches the host.
        arch: platform.rawArch,
        glibc: platform.glibc,
        // One round trip tells the CLI what each host runs (a plain rollback refuses a split fleet).
        ...(root ? { current: await currentVersion(hostPaths(resolve(root))) } : {}),
        // What this agent can do beyond its protocol: the CLI passes --hook only to an agent listing it.
        features: AGENT_FEATURES,
      });
      return ExitCode.Ok;
    }
    const rootFlag = need(flags, 'root');
    if (!isAbsolute(rootFlag)) throw usage('--root must be an absolute path');
    const ctx: AgentContext = {
      paths: hostPaths(resolve(rootFlag)),
      who: typeof flags.who === 'string' && flags.who ? flags.who : `${userInfo().username}@${hostname()}`,
      report,
      env: io.env,
    };
    const outcome = await dispatch(command, ctx, flags, parsed.positionals);
    if (outcome === 'forever') return new Promise<number>(() => {});
    report.result(outcome.ok, {
      ...outcome.fields,
      ...(outcome.error !== undefined ? { error: errorJson(outcome.error) } : {}),
    });
    if (!outcome.ok && outcome.error !== undefined) report.say(describe(outcome.error));
    return outcome.ok ? ExitCode.Ok : (outcome.exitCode ?? exitCodeOf(outcome.error));
  } catch (err) {
    report.result(false, { error: errorJson(err) });
    report.say(
      err instanceof AgentError ? describe(err) : `agent: unexpected error\n${(err as Error).stack ?? err}`,
    );
    return exitCodeOf(err);
  }
}

function exitCodeOf(err: unknown): number {
  return err instanceof AgentError ? err.exitCode : ExitCode.Failure;
}

function describe(err: unknown): string {
  if (err instanceof AgentError)
    return `error: ${err.message}${err.remedy ? `\n  remedy: ${err.remedy}` : ''}`;
  return `error: ${(err as Error).message ?? String(err)}`;
}

async function dispatch(
  command: string,
  ctx: AgentContext,
  flags: Flags,
  positionals: string[],
): Promise<OpOutcome | 'forever'> {
  const { paths } = ctx;
  switch (command) {
    case 'deploy':
      return deploy(ctx, {
        version: need(flags, 'version'),
        manifestUrl: need(flags, 'manifest-url'),
        signatureUrl: need(flags, 'signature-url'),
        artifactUrl: need(flags, 'artifact-url'),
        runtime: runtimeUrls(flags['runtime-url']),
        healthTimeoutSec: int(flags, 'health-timeout', 1),
        allowBad: flags['allow-bad'] === true,
        keep: int(flags, 'keep', 1),
        hooks: hookFlags(flags.hook),
      });
    case 'rollback':
      return rollback(ctx, {
        to: typeof flags.to === 'string' ? flags.to : undefined,
        markBad: flags['no-mark-bad'] !== true,
        allowBad: flags['allow-bad'] === true,
        healthTimeoutSec: int(flags, 'health-timeout', 1),
      });
    case 'sync':
      // Timer runs pass no --who: history then says the host pulled by itself.
      return sync(typeof flags.who === 'string' && flags.who ? ctx : { ...ctx, who: `sync@${hostname()}` }, {
        healthTimeoutSec: int(flags, 'health-timeout', 1),
      });
    case 'status':
      return { ok: true, fields: await status(ctx, { health: flags['no-health'] !== true }) };
    case 'history':
      return { ok: true, fields: { entries: await readHistory(paths, int(flags, 'limit', 1)) } };
    case 'unlock': {
      const held = await readLock(paths);
      if (held) await breakLock(paths, ctx.who, `unlocked by ${ctx.who}`);
      return { ok: true, fields: { wasLocked: held !== null, lock: held } };
    }
    case 'prune':
    case 'recover':
      return maintenance(command, ctx, int(flags, 'keep', 1));
    case 'supervise':
      return supervise(ctx);
    case 'service':
      return service(ctx, positionals);
    case 'logs':
      return logs(ctx, {
        follow: flags.follow === true,
        since: typeof flags.since === 'string' ? flags.since : undefined,
        lines: int(flags, 'lines', 0),
        release: typeof flags.release === 'string' ? flags.release : undefined,
      });
    case 'maintenance':
      return setMaintenance(ctx, {
        action: positionals.length === 1 ? positionals[0] : undefined,
        message: typeof flags.message === 'string' ? flags.message : undefined,
        retryAfterSec: int(flags, 'retry-after', 1),
      });
    default:
      throw usage(`unknown command "${command}"`);
  }
}

/** prune and recover: under the lock, like any change to the host. */
async function maintenance(
  command: 'prune' | 'recover',
  ctx: AgentContext,
  keepFlag: number | undefined,
): Promise<OpOutcome> {
  const { paths } = ctx;
  const config = await loadServiceConfig(paths.serviceConfig);
  const lock = await acquireLock(paths, {
    who: ctx.who,
    op: command,
    version: null,
    ttlSec: config.lockTtlSec,
  });
  try {
    const recovered = await recoverLeftover(ctx, config);
    if (command === 'recover') {
      return {
        ok: true,
        fields: { recovered: recovered ? { action: recovered.action, note: recovered.note } : null },
      };
    }
    const keep = keepFlag ?? config.keepReleases;
    const sup = await readSupervisorState(paths);
    const result = await pruneReleases(paths, {
      keep,
      state: await readState(paths),
      current: await currentVersion(paths),
      serving: sup?.version ?? null,
      servingNode: sup?.runtime?.path ?? null,
      supervisorNode: sup?.supervisorNode?.path ?? null,
      debrisAgeSec: config.lockTtlSec,
    });
    if (result.removed.length > 0) {
      await appendHistory(paths, {
        who: ctx.who,
        op: 'prune',
        version: null,
        from: null,
        result: 'ok',
        note: `removed ${result.removed.join(', ')}`,
      });
    }
    return { ok: true, fields: { keep, ...result } };
  } finally {
    await lock.release();
  }
}

async function supervise(ctx: AgentContext): Promise<'forever'> {
  const { paths } = ctx;
  const config = await loadServiceConfig(paths.serviceConfig);
  const other = await runningSupervisor(paths);
  if (other !== null && other !== process.pid) {
    throw new AgentError('usage', `a supervisor already runs for ${paths.root} (pid ${other})`, {
      remedy: 'stop it first (`agent service stop` or systemctl stop)',
    });
  }
  const output = await openServiceLog(paths, config);
  process.on('uncaughtException', (err) => {
    output.line(`supervisor: fatal: ${err.stack ?? err.message}`);
    output.flush();
    process.exit(1);
  });
  await new Supervisor(paths, config, output).start();
  return 'forever';
}

async function service(ctx: AgentContext, positionals: string[]): Promise<OpOutcome> {
  const { paths } = ctx;
  const action = positionals[0];
  if (positionals.length !== 1 || !['start', 'stop', 'reload', 'status'].includes(action ?? '')) {
    throw usage('service needs one of: start, stop, reload, status');
  }
  const config = await loadServiceConfig(paths.serviceConfig);
  if (action === 'status') {
    const pid = await runningSupervisor(paths);
    return {
      ok: true,
      fields: { mode: config.mode, pid, running: pid !== null, supervisor: await readSupervisorState(paths) },
    };
  }
  if (action !== 'reload' && config.mode === 'systemd') {
    throw usage(`in systemd mode, ${action} is systemctl's job: sudo systemctl ${action} ${config.unitName}`);
  }
  const outcome =
    action === 'start'
      ? await startService(paths, config)
      : action === 'stop'
        ? await stopService(paths, config)
        : await reloadService(paths, config);
  // A reload "took" only if what serves now is what `current` points to.
  const expected = action === 'stop' ? null : await currentVersion(paths);
  if (outcome.ok && action !== 'stop' && (outcome.state?.version ?? null) !== expected) {
    outcome.ok = false;
    outcome.error = `serving ${outcome.state?.version ?? 'nothing'}, but current is ${expected ?? 'unset'}`;
  }
  const fields = {
    action,
    pid: outcome.pid,
    already: outcome.already ?? false,
    version: outcome.state?.version ?? null,
    generation: outcome.state?.generation ?? null,
    phase: outcome.state?.phase ?? null,
  };
  if (outcome.ok) return { ok: true, fields };
  return {
    ok: false,
    fields,
    error: new AgentError('reload_failed', `service ${action} failed: ${outcome.error}`, {
      step: 'reload',
      remedy: `see ${paths.serviceLog}`,
    }),
  };
}
