// The agent's entry (bundled by ncc into .ferry/agent/index.js on hosts). Wiring only: see cli.ts.
import { runAgent } from './cli';

runAgent(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  // Exit explicitly: a pooled socket or timer left behind must not keep a finished command alive.
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`agent: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
