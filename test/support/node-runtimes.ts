// Real Node builds for tests, from the npm packages scripts/fetch-test-runtimes.mjs puts in
// .cache/runtimes/npm (it runs as `pretest`). Everything derived from them is built once and cached next
// to them, with system tools (tar, gzip, xz) rather than Ferry's own code, so tests of Ferry's reader are
// not checked against Ferry's writer:
//   testRuntime('22.23.5')      bin/node and LICENSE on disk (for e2e tests: run a release on Node 22/24)
//   officialTarball(v, arch)    node-v<v>-linux-<arch>.tar.gz (or .tar.xz) laid out like nodejs.org/dist
//   runtimeFolder()             a flat folder of those + SHASUMS256.txt: `app.runtime.from: <folder>`
// The HTTP stand-ins for a Node mirror and the npm registry are in ./node-mirror.ts.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, link, mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extract as tarExtract } from 'tar';
import type { Requirement } from './require-tool';

export type TestArch = 'x64' | 'arm64';

export interface TestRuntimeSpec {
  version: string;
  arch: TestArch;
}

/** What the fetch script provides; keep in step with TEST_RUNTIME_PACKAGES there. */
export const TEST_RUNTIMES: readonly TestRuntimeSpec[] = [
  { version: '22.23.5', arch: 'x64' },
  { version: '24.22.3', arch: 'x64' },
  { version: '22.23.5', arch: 'arm64' },
];

export const NODE_22 = '22.23.5';
export const NODE_24 = '24.22.3';

export const CACHE = resolve(dirname(fileURLToPath(import.meta.url)), '../../.cache/runtimes');
const FETCH = 'node scripts/fetch-test-runtimes.mjs';

/**
 * A Ferry cache shared by tests that only need packed runtimes (not ones testing the cache itself), so a
 * runtime is packed once per machine: FERRY_CACHE_DIR for the CLI, SHARED_FERRY_CACHE for prepareRuntime.
 */
export const TEST_FERRY_CACHE_DIR = join(CACHE, 'ferry-cache');
export const SHARED_FERRY_CACHE = join(TEST_FERRY_CACHE_DIR, 'runtimes');

export function npmTarball(version: string, arch: TestArch = 'x64'): string {
  return join(CACHE, 'npm', `node-linux-${arch}-${version}.tgz`);
}

/** For describeIf(): the fetched packages are there (under CI=true a missing one fails the suite). */
export function requireTestRuntimes(specs: readonly TestRuntimeSpec[] = TEST_RUNTIMES): Requirement {
  const missing = specs.filter((s) => !existsSync(npmTarball(s.version, s.arch)));
  if (missing.length === 0) return { available: true };
  return {
    available: false,
    reason: `missing ${missing.map((s) => `node-linux-${s.arch}@${s.version}`).join(', ')} in ${join(CACHE, 'npm')}: run \`${FETCH}\``,
  };
}

export interface TestRuntime extends TestRuntimeSpec {
  /** The npm package it came from. */
  tgz: string;
  /** bin/node: run it with `${binary} app/index.js` (x64 ones only, on this machine). */
  binary: string;
  licence: string;
  /** The folder holding bin/ and LICENSE. */
  dir: string;
}

/** bin/node + LICENSE of a fetched build, extracted once into .cache/runtimes/extracted. */
export async function testRuntime(version: string, arch: TestArch = 'x64'): Promise<TestRuntime> {
  const tgz = npmTarball(version, arch);
  if (!existsSync(tgz)) throw new Error(`${tgz} is missing: run \`${FETCH}\``);
  const dir = join(CACHE, 'extracted', `node-v${version}-linux-${arch}`);
  await onceDir(dir, async (tmp) => {
    await tarExtract({
      file: tgz,
      cwd: tmp,
      strip: 1,
      filter: (p) => /^package\/(bin\/node|LICENSE)$/.test(p),
    });
  });
  return { version, arch, tgz, binary: join(dir, 'bin', 'node'), licence: join(dir, 'LICENSE'), dir };
}

/**
 * An official-layout tarball (node-v<v>-linux-<arch>/ with bin/node, LICENSE, and the parts Ferry must
 * drop: headers, npm, corepack, docs, the npm/npx symlinks), made with the system's tar and gzip or xz.
 */
export async function officialTarball(
  version: string,
  arch: TestArch,
  ext: 'gz' | 'xz' = 'gz',
): Promise<string> {
  const name = `node-v${version}-linux-${arch}`;
  const out = join(CACHE, 'dist', `v${version}`, `${name}.tar.${ext}`);
  if (existsSync(out)) return out;
  const rt = await testRuntime(version, arch);
  const stage = await mkdtemp(join(CACHE, '.stage-'));
  try {
    const top = join(stage, name);
    for (const d of [
      'bin',
      'include/node',
      'lib/node_modules/npm/bin',
      'lib/node_modules/corepack',
      'share/doc/node',
    ]) {
      await mkdir(join(top, d), { recursive: true });
    }
    await link(rt.binary, join(top, 'bin', 'node'));
    await link(rt.licence, join(top, 'LICENSE'));
    await writeFile(join(top, 'README.md'), `# Node.js ${version}\n`);
    await writeFile(join(top, 'CHANGELOG.md'), `# ${version}\n`);
    await writeFile(join(top, 'include/node/node.h'), '#define NODE_H 1\n');
    await writeFile(join(top, 'lib/node_modules/npm/bin/npm-cli.js'), '#!/usr/bin/env node\n');
    await chmod(join(top, 'lib/node_modules/npm/bin/npm-cli.js'), 0o755);
    await writeFile(join(top, 'lib/node_modules/corepack/package.json'), '{"name":"corepack"}\n');
    await writeFile(join(top, 'share/doc/node/gdbinit'), '# gdb\n');
    await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(top, 'bin', 'npm'));
    await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(top, 'bin', 'npx'));
    await mkdir(dirname(out), { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    const r = spawnSync('tar', ['-C', stage, ext === 'gz' ? '-czf' : '-cf', ext === 'gz' ? tmp : '-', name], {
      env: { ...process.env, GZIP: '-1' },
      ...(ext === 'xz' ? { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 512 * 1024 * 1024 } : {}),
    });
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr?.toString()}`);
    if (ext === 'xz') {
      const x = spawnSync('xz', ['-1', '-T2', '-c'], { input: r.stdout, maxBuffer: 512 * 1024 * 1024 });
      if (x.status !== 0) throw new Error(`xz failed: ${x.stderr?.toString()}`);
      await writeFile(tmp, x.stdout);
    }
    await rename(tmp, out);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  return out;
}

export async function sha256File(path: string, algorithm: 'sha256' | 'sha512' = 'sha256'): Promise<string> {
  const h = createHash(algorithm);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** SHASUMS256.txt lines for `files`, as nodejs.org writes them ("<hex>  <name>"). */
export async function shasums(files: readonly string[]): Promise<string> {
  const lines = await Promise.all(
    files.map(async (f) => `${await sha256File(f)}  ${f.slice(f.lastIndexOf('/') + 1)}`),
  );
  return `${lines.sort().join('\n')}\n`;
}

/**
 * A flat folder with every test runtime as node-v<v>-linux-<arch>.tar.gz and a SHASUMS256.txt: point
 * `app.runtime.from` at it (no server needed). Shared and read-only: copy it to modify it.
 */
export async function runtimeFolder(specs: readonly TestRuntimeSpec[] = TEST_RUNTIMES): Promise<string> {
  const key = specs
    .map((s) => `${s.version}-${s.arch}`)
    .sort()
    .join('_');
  const dir = join(CACHE, 'folders', createHash('sha256').update(key).digest('hex').slice(0, 12));
  await onceDir(dir, async (tmp) => {
    const files: string[] = [];
    for (const s of specs) {
      const src = await officialTarball(s.version, s.arch);
      const dest = join(tmp, src.slice(src.lastIndexOf('/') + 1));
      await link(src, dest);
      files.push(dest);
    }
    await writeFile(join(tmp, 'SHASUMS256.txt'), await shasums(files));
  });
  return dir;
}

/** Builds `dir` once: into a temp sibling, then renamed into place (a racing builder's copy is dropped). */
async function onceDir(dir: string, build: (tmp: string) => Promise<void>): Promise<void> {
  if (existsSync(dir)) return;
  await mkdir(dirname(dir), { recursive: true });
  const tmp = await mkdtemp(`${dir}.tmp-`);
  try {
    await build(tmp);
    await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
      if (!existsSync(dir)) throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Every file under `dir`, relative, sorted: for asserting what a folder holds. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}
