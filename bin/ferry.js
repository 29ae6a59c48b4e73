#!/usr/bin/env node
// The `ferry` bin: runs the compiled CLI (lib/cli, built by `npm ci`'s prepare step or `npm run build`)
// when it matches the sources, else the TypeScript sources through tsx. Matching means every source file
// the build recorded still has the size and mtime it had then, so an edited .ts file is never shadowed by
// an older build: that run is slower (tsx compiles on start), not wrong. Everything else lives in
// pipeline/cli/main.ts, which tests call directly.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const compiled = `${root}lib/cli/`;

function buildIsCurrent() {
  let info;
  try {
    info = JSON.parse(readFileSync(`${compiled}build-info.json`, 'utf8'));
  } catch {
    return false;
  }
  if (info?.schema !== 1 || typeof info.inputs !== 'object' || info.inputs === null) return false;
  // An installed package (npm install from a tarball or git) is not edited in place, and npm pack resets
  // every mtime, so there the build that came with it is the one to run.
  if (/[\\/]node_modules[\\/]/.test(root)) return true;
  for (const [file, was] of Object.entries(info.inputs)) {
    const st = statSync(root + file, { throwIfNoEntry: false });
    if (st === undefined || st.size !== was.size || st.mtimeMs !== was.mtimeMs) return false;
  }
  return true;
}

let main;
if (buildIsCurrent()) {
  ({ main } = await import(new URL('../lib/cli/main.js', import.meta.url).href));
} else {
  if (process.stderr.isTTY) {
    process.stderr.write(
      'ferry: running from the TypeScript sources (`npm run build` makes it start faster)\n',
    );
  }
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../pipeline/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
  isTTY: Boolean(process.stdout.isTTY && process.stderr.isTTY),
});
