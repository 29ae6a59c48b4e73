// The ferry CLI driven in-process through main(), as a user would type it, its output kept: what the
// story tests, the reliability suites and the bench all do with a releases.yaml of their own.
import { main } from '../../pipeline/cli/main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runFerry(
  config: string,
  argv: readonly string[],
  o: { env: Record<string, string | undefined>; cwd: string },
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(['-c', config, ...argv], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: o.env,
    cwd: o.cwd,
    isTTY: false,
  });
  return { code, stdout, stderr };
}
