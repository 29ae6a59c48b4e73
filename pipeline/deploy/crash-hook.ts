// Test-only: FERRY_CLI_CRASH_AFTER_HOSTS=N makes the CLI SIGKILL itself as soon as N hosts have finished
// their part of a rollout, exactly between two hosts, the way a cancelled CI job or a closed laptop stops
// it. The reliability tests use it to prove that re-running converges the fleet; like the agent's
// FERRY_AGENT_CRASH_AT, it is a kill, not an exit: no finally block runs and the environment lock stays.
export const CLI_CRASH_ENV = 'FERRY_CLI_CRASH_AFTER_HOSTS';

export function crashAfterHosts(hostsDone: number, env: NodeJS.ProcessEnv = process.env): void {
  const n = Number(env[CLI_CRASH_ENV]);
  if (Number.isSafeInteger(n) && n > 0 && hostsDone === n) process.kill(process.pid, 'SIGKILL');
}
