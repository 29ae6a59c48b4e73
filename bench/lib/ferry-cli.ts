// The ferry CLI driven in-process through main(), as the deploy tests drive it, with its output kept.
import { runFerry } from '../../test/support/run-ferry';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Cli {
  (...argv: string[]): Promise<CliRun>;
  /** Like calling it, but throws (with the output) unless the exit code is 0. */
  ok(...argv: string[]): Promise<CliRun>;
}

export function ferryCli(configFile: string, cwd: string, env: Record<string, string | undefined>): Cli {
  const run = async (...argv: string[]): Promise<CliRun> => {
    const t0 = performance.now();
    const r = await runFerry(configFile, argv, { env, cwd });
    return { ...r, ms: performance.now() - t0 };
  };
  const cli = run as Cli;
  cli.ok = async (...argv) => {
    const r = await run(...argv);
    if (r.code !== 0) {
      throw new Error(`ferry ${argv.join(' ')} exited ${r.code}:\n${(r.stdout + r.stderr).slice(-3000)}`);
    }
    return r;
  };
  return cli;
}

/**
 * Polls every port's /version until each has answered `version` once; resolves with the ms (from the
 * call) at which the last one first did, or null if that did not happen before `until` settled plus
 * graceMs (or maxMs passed). Each port is asked at most every intervalMs.
 */
export async function timeUntilServing(
  ports: readonly number[],
  version: string,
  until: Promise<unknown>,
  opts: { intervalMs?: number; graceMs?: number; maxMs?: number } = {},
): Promise<number | null> {
  const t0 = performance.now();
  const seen = new Map<number, number>();
  // Bounded even if `until` never settles.
  let deadline = t0 + (opts.maxMs ?? 180_000);
  void until.finally(() => {
    deadline = Math.min(deadline, performance.now() + (opts.graceMs ?? 5000));
  });
  while (seen.size < ports.length && performance.now() < deadline) {
    await Promise.all(
      ports
        .filter((p) => !seen.has(p))
        .map(async (p) => {
          try {
            const res = await fetch(`http://127.0.0.1:${p}/version`, { signal: AbortSignal.timeout(1000) });
            const body = (await res.json()) as { version?: string };
            if (body.version === version) seen.set(p, performance.now() - t0);
          } catch {
            // not up (yet)
          }
        }),
    );
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
  await until.catch(() => {});
  return seen.size === ports.length ? Math.max(...seen.values()) : null;
}
