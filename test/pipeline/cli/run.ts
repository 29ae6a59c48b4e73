import { main } from '../../../pipeline/cli/main';
import { sink } from '../build/fixture-app';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json<T = Record<string, unknown>>(): T;
}

/** Runs the CLI in-process, the way bin/ferry.js does, with captured output. */
export async function ferry(
  argv: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined>; isTTY?: boolean } = {},
): Promise<Run> {
  const stdout = sink(opts.isTTY);
  const stderr = sink(opts.isTTY);
  const code = await main(argv, {
    stdout,
    stderr,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
    isTTY: opts.isTTY ?? false,
  });
  return {
    code,
    stdout: stdout.text(),
    stderr: stderr.text(),
    json: <T>() => JSON.parse(stdout.text()) as T,
  };
}
