// Runs the host agent through a transport and reads its JSON-lines contract (docs/agent.md): progress
// events as they come, then one result line. A run that ends without a result line (killed, node missing,
// SSH dropped) becomes a failed result naming what was seen, so the rollout treats every host alike.
import { type AgentCommand, type AgentCommandArgs, agentArgv } from '../commands/agent';
import type { HookRun } from '../hooks/spec';
import type { Transport } from '../transport/types';

export interface AgentError {
  step?: string;
  code: string;
  message: string;
  remedy?: string;
  /** The new workers' last output lines and the failing health answer (a gate or start failure). */
  details?: FailureDetails;
}

export interface FailureDetails {
  output?: string[];
  probe?: { status?: number; body?: string; version?: string | null; error?: string };
  /** A failed beforeSwitch hook: its exit and last output lines (and the hooks run before it). */
  hook?: HookRun;
  hooks?: HookRun[];
}

export interface AgentResult {
  ok: boolean;
  op: string;
  version?: string;
  previous?: string | null;
  error?: AgentError;
  /** The agent exited without a result line: the failure is the transport's or the process's, not the release's. */
  noResult?: boolean;
  exitCode: number;
  [field: string]: unknown;
}

export interface AgentEvent {
  event: string;
  step?: string;
  [field: string]: unknown;
}

export interface RunAgentOptions {
  who?: string;
  nodePath?: string;
  onEvent?: (e: AgentEvent) => void;
  timeoutMs?: number;
}

export async function runAgent<C extends AgentCommand>(
  t: Transport,
  root: string,
  command: C,
  args: AgentCommandArgs[C],
  opts: RunAgentOptions = {},
): Promise<AgentResult> {
  let result: AgentResult | null = null;
  const res = await t.exec(agentArgv(root, command, args, { who: opts.who, nodePath: opts.nodePath }), {
    timeoutMs: opts.timeoutMs,
    onStdoutLine: (line) => {
      const e = parseLine(line);
      if (!e) return;
      if (e.event === 'result') result = e as unknown as AgentResult;
      else opts.onEvent?.(e);
    },
  });
  if (result) return { ...(result as AgentResult), exitCode: res.code };
  const stderr = res.stderr.trim().split('\n').slice(-3).join(' | ');
  return {
    ok: false,
    op: command,
    noResult: true,
    exitCode: res.code,
    error: {
      code: res.code === 124 ? 'timeout' : res.code === 127 ? 'agent_missing' : 'no_result',
      message:
        res.code === 124
          ? `the agent did not finish within ${Math.round((opts.timeoutMs ?? 0) / 1000)}s`
          : `the agent exited ${res.code} without a result${stderr ? `: ${stderr}` : ''}`,
    },
  };
}

function parseLine(line: string): AgentEvent | null {
  if (!line.startsWith('{')) return null;
  try {
    const v = JSON.parse(line) as AgentEvent;
    return typeof v.event === 'string' ? v : null;
  } catch {
    return null;
  }
}
