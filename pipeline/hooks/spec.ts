// A hook as it travels from the CLI to a host's agent, and what running one produced. The CLI decides
// which hooks a host runs (a `once` hook goes to the canary only), so the agent needs no notion of
// canaries: it runs what `agent deploy --hook` lists, in order.

export type HostHookPhase = 'beforeSwitch' | 'afterSwitch';
export type HookPhaseName = HostHookPhase | 'afterDeploy';

export interface HookSpec {
  phase: HostHookPhase;
  run: string;
  timeoutSec: number;
}

/** What one run of a hook left: its exit, how long it took, and the last lines it printed. */
export interface HookRun {
  phase: HookPhaseName;
  run: string;
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** stdout and stderr interleaved, the last HOOK_OUTPUT_LINES lines, values of secrets redacted. */
  output: string[];
}

/** `--hook beforeSwitch:300:node scripts/migrate.js`: phase, timeout in seconds, then the command as is. */
export function parseHookFlag(value: string): HookSpec | string {
  const m = /^(beforeSwitch|afterSwitch):([1-9][0-9]{0,5}):([\s\S]+)$/.exec(value);
  if (!m) {
    return `--hook must be PHASE:TIMEOUT:COMMAND with PHASE beforeSwitch or afterSwitch and TIMEOUT in seconds, got "${value.slice(0, 40)}"`;
  }
  return { phase: m[1] as HostHookPhase, timeoutSec: Number(m[2]), run: m[3] as string };
}

/** One line for people: `beforeSwitch "node scripts/migrate.js" failed: exit 3 after 1.2s`. */
export function describeHookRun(r: HookRun): string {
  const secs = `${(r.durationMs / 1000).toFixed(1)}s`;
  const what = `${r.phase} hook ${JSON.stringify(r.run.length > 80 ? `${r.run.slice(0, 80)}…` : r.run)}`;
  if (r.ok) return `${what} ok in ${secs}`;
  if (r.timedOut) return `${what} timed out after ${secs} and was killed`;
  if (r.exitCode === null && r.signal === null) return `${what} could not start`;
  return `${what} failed: ${r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`} after ${secs}`;
}
