// Running a command under GNU time (/usr/bin/time -v) for its peak memory. Pure parser + runner.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export const GNU_TIME = '/usr/bin/time';

/** "Maximum resident set size (kbytes): 51234" → bytes; null when absent. */
export function parseMaxRss(stderr: string): number | null {
  const m = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(stderr);
  return m ? Number(m[1]) * 1024 : null;
}

export interface TimedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak RSS of the command, bytes; null without GNU time. */
  maxRss: number | null;
}

/** Runs argv (under /usr/bin/time -v when installed), bounded by timeoutMs. */
export function runMeasured(
  argv: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<TimedRun> {
  const withTime = existsSync(GNU_TIME);
  const [cmd, ...args] = withTime ? [GNU_TIME, '-v', ...argv] : [...argv];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd!, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        ms: performance.now() - t0,
        maxRss: withTime ? parseMaxRss(stderr) : null,
      });
    });
  });
}
