// Runs one hook: `sh -c COMMAND` in its own process group, so a timeout kills everything it started
// (SIGTERM, then SIGKILL after a grace period), not just the shell. Output is kept bounded (the last
// lines, each cut at a length) with the values of known secrets replaced, because it goes into the
// result, the host's history and the environment's audit log.
import { spawn } from 'node:child_process';
import { OutputTail } from '../agent/service/output-tail';
import type { HookPhaseName, HookRun } from './spec';

export const HOOK_OUTPUT_LINES = 50;
const KILL_GRACE_MS = 2000;
/** After the shell exits, how long to keep reading what its leftovers still write to our pipes. */
const DRAIN_MS = 500;
/** Shorter values would redact ordinary words ("true", "prod"). */
const MIN_SECRET_LENGTH = 6;

export interface RunHookOptions {
  phase: HookPhaseName;
  run: string;
  /** The argv that runs it: hookArgv(run). */
  argv: readonly string[];
  cwd: string;
  env: Record<string, string | undefined>;
  timeoutSec: number;
  /** Values never to show in the output (shared/.env values, tokens). */
  secrets?: readonly string[];
  /** Called once the hook's process (its group's leader) exists, e.g. to journal its pid. */
  onStart?(pid: number): void | Promise<void>;
}

export function runHook(o: RunHookOptions): Promise<HookRun> {
  const started = Date.now();
  const tail = new OutputTail(HOOK_OUTPUT_LINES);
  const secrets = [...new Set(o.secrets ?? [])]
    .filter((s) => s.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  const redact = (line: string) => secrets.reduce((l, s) => l.split(s).join('[redacted]'), line);
  const done = (r: Omit<HookRun, 'phase' | 'run' | 'durationMs' | 'output' | 'ok'>): HookRun => ({
    phase: o.phase,
    run: o.run,
    ok: r.exitCode === 0 && !r.timedOut,
    ...r,
    durationMs: Date.now() - started,
    output: tail.snapshot().map(redact),
  });

  return new Promise((resolve) => {
    const [cmd, ...args] = o.argv;
    const child = spawn(cmd as string, args, {
      cwd: o.cwd,
      env: o.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let timedOut = false;
    let settled = false;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // the group is already gone
      }
    };
    let grace: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      grace = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    }, o.timeoutSec * 1000);
    // Settled before the result: what onStart records (a journal entry) must not land after the caller
    // has moved on and cleared it.
    const onStarted =
      child.pid !== undefined ? Promise.resolve(o.onStart?.(child.pid)).catch(() => {}) : null;
    // One partial line per pipe: a line is whole only within its own stream.
    const partial = { out: '', err: '' };
    const take = (which: 'out' | 'err') => (c: Buffer) => {
      const lines = (partial[which] + c.toString()).split('\n');
      partial[which] = lines.pop() ?? '';
      for (const l of lines) tail.push(`${l}\n`);
    };
    child.stdout.on('data', take('out'));
    child.stderr.on('data', take('err'));
    const finish = (r: Parameters<typeof done>[0]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (grace) clearTimeout(grace);
      // After a timeout nothing of the hook may outlive it; after a normal exit, leftovers are its own.
      if (timedOut) killGroup('SIGKILL');
      child.stdout.destroy();
      child.stderr.destroy();
      for (const rest of [partial.out, partial.err]) if (rest) tail.push(`${rest}\n`);
      const result = done(r);
      void Promise.resolve(onStarted).then(() => resolve(result));
    };
    child.on('error', (err) => {
      tail.push(`${o.phase} hook could not start: ${err.message}\n`);
      finish({ exitCode: null, signal: null, timedOut: false });
    });
    child.on('exit', (code, signal) => {
      const r = { exitCode: code, signal, timedOut };
      // Wait for the pipes to close (the usual case, at once) but not for a background child holding them.
      const drain = setTimeout(() => finish(r), DRAIN_MS);
      child.on('close', () => {
        clearTimeout(drain);
        finish(r);
      });
    });
  });
}
