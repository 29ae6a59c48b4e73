#!/usr/bin/env node
// The `ferry` bin: registers tsx so the TypeScript CLI runs as-is, then hands the process to main().
// Everything else lives in pipeline/cli/main.ts, which tests call directly.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../pipeline/cli/main.ts');
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
  isTTY: Boolean(process.stdout.isTTY && process.stderr.isTTY),
});
