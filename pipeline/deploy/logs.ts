// `ferry logs <env>`: runs `agent logs` on every host (or one) at once, over SSH or locally, and merges
// what they print by time. With follow, every session stays open until `signal` fires (Ctrl-C); each
// agent then sees its stdin close and stops its own journalctl, and the CLI waits for all of them, so
// nothing keeps running on any host.
import type { LogRecord } from '../agent/service/log-record';
import { agentArgv, type LogsArgs } from '../commands/agent';
import type { HostConfig } from '../config/resolve';
import { UsageError } from '../errors';
import type { FleetContext } from './context';
import { type HostLogRecord, LogMerger } from './log-merge';
import { closeHosts, type HostHandle, openHosts } from './session';

export interface LogsOptions extends LogsArgs {
  /** One host's name; all hosts when unset. */
  host?: string;
  /** Ends a follow. Without follow, the run ends when every host has sent its backlog. */
  signal: AbortSignal;
  onRecord(r: HostLogRecord): void;
  onWarning(host: string, message: string): void;
  /** How long new lines are held to be merged by time while following. */
  mergeWindowMs?: number;
}

export interface HostLogFailure {
  host: string;
  message: string;
}

export function selectHosts(hosts: readonly HostConfig[], name: string | undefined): HostConfig[] {
  if (name === undefined) return [...hosts];
  const found = hosts.filter((h) => h.name === name);
  if (found.length === 0) {
    throw new UsageError(`no host "${name}" in this environment`, {
      remedy: `use one of: ${hosts.map((h) => h.name).join(', ')}`,
    });
  }
  return found;
}

interface AgentLine {
  event?: string;
  ok?: boolean;
  message?: string;
  error?: { code?: string; message?: string; remedy?: string };
}

async function oneHost(
  h: HostHandle,
  args: LogsArgs,
  opts: LogsOptions,
  merger: LogMerger,
): Promise<HostLogFailure | null> {
  const name = h.host.name;
  let result: AgentLine | null = null;
  const onLine = (line: string) => {
    if (!line.startsWith('{')) return;
    let e: AgentLine & Record<string, unknown>;
    try {
      e = JSON.parse(line) as AgentLine & Record<string, unknown>;
    } catch {
      return;
    }
    if (e.event === 'log') {
      const { event: _e, ...record } = e;
      merger.add(name, record as unknown as LogRecord);
    } else if (e.event === 'caught-up') merger.caughtUp(name);
    else if (e.event === 'warning' && typeof e.message === 'string') opts.onWarning(name, e.message);
    else if (e.event === 'result') result = e;
  };
  try {
    const argv = agentArgv(h.host.path, 'logs', args);
    const { code, stderr } = await h.t.stream(argv, { onStdoutLine: onLine, signal: opts.signal });
    const r = result as AgentLine | null;
    // Told to stop (Ctrl-C): however each agent ended, that was the end asked for.
    if (r?.ok || opts.signal.aborted) return null;
    if (r?.error) {
      if (r.error.code === 'usage' && /unknown command "logs"/.test(r.error.message ?? '')) {
        return {
          host: name,
          message: 'its agent is older than this CLI and has no `logs`; run `ferry setup <env>` to update it',
        };
      }
      return { host: name, message: `${r.error.message}${r.error.remedy ? ` (${r.error.remedy})` : ''}` };
    }
    const tail = stderr.trim().split('\n').slice(-3).join(' | ');
    return { host: name, message: `the agent exited ${code} without a result${tail ? `: ${tail}` : ''}` };
  } catch (err) {
    return { host: name, message: (err as Error).message };
  } finally {
    merger.caughtUp(name);
  }
}

export async function streamLogs(
  ctx: FleetContext,
  opts: LogsOptions,
): Promise<{ failures: HostLogFailure[] }> {
  const hosts = selectHosts(ctx.envCfg.hosts, opts.host);
  const handles = await openHosts({ ...ctx.envCfg, hosts }, ctx.env);
  const merger = new LogMerger(
    handles.map((h) => h.host.name),
    opts.onRecord,
  );
  const timer = opts.follow ? setInterval(() => merger.flush(), opts.mergeWindowMs ?? 200) : undefined;
  try {
    const args: LogsArgs = {
      ...(opts.follow ? { follow: true } : {}),
      ...(opts.since !== undefined ? { since: opts.since } : {}),
      ...(opts.lines !== undefined ? { lines: opts.lines } : {}),
      ...(opts.release !== undefined ? { release: opts.release } : {}),
    };
    const outcomes = await Promise.all(handles.map((h) => oneHost(h, args, opts, merger)));
    return { failures: outcomes.filter((f): f is HostLogFailure => f !== null) };
  } finally {
    clearInterval(timer);
    merger.end();
    await closeHosts(handles);
  }
}
