// Pure builders of agent command lines, run on hosts by the CLI over SSH (shellJoin them there). Each
// command's flags are typed, so a CLI change that drifts from the agent's interface fails to compile.
// The contract itself (output lines, exit codes) is in docs/agent.md.
import { posix } from 'node:path';
import type { HookSpec } from '../hooks/spec';
import { hookFlags } from './hooks';

export interface DeployArgs {
  version: string;
  manifestUrl: string;
  signatureUrl: string;
  artifactUrl: string;
  /** Presigned URLs of the runtime the release pins, per arch; the agent takes its own. */
  runtimeUrls?: Partial<Record<'x64' | 'arm64', string>>;
  healthTimeoutSec?: number;
  allowBad?: boolean;
  keep?: number;
  /** Hooks this host runs, in order (pipeline/commands/hooks.ts hostHooks()). */
  hooks?: readonly HookSpec[];
}

export interface RollbackArgs {
  to?: string;
  /** Default true: the release rolled away from is marked bad. */
  markBad?: boolean;
  allowBad?: boolean;
  healthTimeoutSec?: number;
}

export interface AgentCommandArgs {
  version: Record<string, never>;
  deploy: DeployArgs;
  rollback: RollbackArgs;
  status: { health?: boolean };
  /** Pull mode: converge to the environment's channel (docs/pull.md). */
  sync: { healthTimeoutSec?: number };
  history: { limit?: number };
  unlock: Record<string, never>;
  prune: { keep?: number };
  recover: Record<string, never>;
  supervise: Record<string, never>;
  service: { action: 'start' | 'stop' | 'reload' | 'status' };
  /** The service log as JSON lines (docs/agent.md); with follow, until the agent's stdin closes. */
  logs: LogsArgs;
  maintenance: MaintenanceArgs;
}

export interface LogsArgs {
  follow?: boolean;
  /** A duration (10m) or a time, as the operator typed it: the host resolves it on its own clock. */
  since?: string;
  lines?: number;
  release?: string;
}

export interface MaintenanceArgs {
  action: 'on' | 'off';
  message?: string;
  retryAfterSec?: number;
}

export type AgentCommand = keyof AgentCommandArgs;

export interface AgentInvocation {
  /** Node on the host; defaults to the runtime `ferry setup` installed (<root>/.ferry/runtime/bin/node). */
  nodePath?: string;
  /** Recorded in the host's history and lock, e.g. "alice@laptop". */
  who?: string;
}

/** Where setup installs the agent bundle (a folder: index.js + package.json). */
export function agentDir(root: string): string {
  return posix.join(root, '.ferry', 'agent');
}

/** The node every Ferry process on a host runs (agent, supervisor, sync timer): the runtime setup installed. */
export function agentNodePath(root: string): string {
  return posix.join(root, '.ferry', 'runtime', 'bin', 'node');
}

export function agentEntry(root: string): string {
  return posix.join(agentDir(root), 'index.js');
}

export function agentArgv<C extends AgentCommand>(
  root: string,
  command: C,
  args: AgentCommandArgs[C],
  opts: AgentInvocation = {},
): string[] {
  if (!posix.isAbsolute(root)) throw new Error(`root must be an absolute path, got ${root}`);
  // Never the host's own node (there may be none): the runtime Ferry installed and keeps.
  const argv = [opts.nodePath ?? agentNodePath(root), agentEntry(root), command];
  if (command === 'service') argv.push((args as AgentCommandArgs['service']).action);
  if (command === 'maintenance') argv.push((args as MaintenanceArgs).action);
  argv.push('--root', root);
  if (opts.who) argv.push('--who', opts.who);
  return [...argv, ...flagsFor(command, args)];
}

function flagsFor(command: AgentCommand, args: unknown): string[] {
  const out: string[] = [];
  const add = (flag: string, value: string | number | undefined) => {
    if (value !== undefined) out.push(`--${flag}`, String(value));
  };
  const on = (flag: string, value: boolean | undefined) => {
    if (value) out.push(`--${flag}`);
  };
  switch (command) {
    case 'deploy': {
      const a = args as DeployArgs;
      add('version', a.version);
      add('manifest-url', a.manifestUrl);
      add('signature-url', a.signatureUrl);
      add('artifact-url', a.artifactUrl);
      for (const [arch, url] of Object.entries(a.runtimeUrls ?? {}).sort())
        add('runtime-url', `${arch}=${url}`);
      add('health-timeout', a.healthTimeoutSec);
      on('allow-bad', a.allowBad);
      add('keep', a.keep);
      out.push(...hookFlags(a.hooks ?? []));
      break;
    }
    case 'rollback': {
      const a = args as RollbackArgs;
      add('to', a.to);
      on('no-mark-bad', a.markBad === false);
      on('allow-bad', a.allowBad);
      add('health-timeout', a.healthTimeoutSec);
      break;
    }
    case 'status':
      on('no-health', (args as AgentCommandArgs['status']).health === false);
      break;
    case 'sync':
      add('health-timeout', (args as AgentCommandArgs['sync']).healthTimeoutSec);
      break;
    case 'history':
      add('limit', (args as AgentCommandArgs['history']).limit);
      break;
    case 'prune':
      add('keep', (args as AgentCommandArgs['prune']).keep);
      break;
    case 'logs': {
      const a = args as LogsArgs;
      on('follow', a.follow);
      add('since', a.since);
      add('lines', a.lines);
      add('release', a.release);
      break;
    }
    case 'maintenance': {
      const a = args as MaintenanceArgs;
      add('message', a.message);
      add('retry-after', a.retryAfterSec);
      break;
    }
    default:
      break;
  }
  return out;
}

/** The directories setup creates on a host (owned by the deploy user). */
export function setupDirsArgv(root: string): string[] {
  const p = (...s: string[]) => posix.join(root, ...s);
  return [
    'mkdir',
    '-p',
    p('releases'),
    p('shared', 'data'),
    p('.ferry', 'agent'),
    p('.ferry', 'tmp'),
    p('.ferry', 'logs'),
  ];
}
