// The `ferry` bin as shipped: the CLI compiled by scripts/build-cli.mjs, in a package laid out like the
// repository (bin/, lib/cli/, the sources, node_modules), run as a child process. The same bin falls back
// to the TypeScript sources when the build is missing or older than a source it was built from.
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../pipeline/package-root';
import { makeFixtureApp } from '../pipeline/build/fixture-app';
import { NODE_22, NODE_24, requireTestRuntimes, testRuntime } from '../support/node-runtimes';
import { describeIf } from '../support/require-tool';

let dir: string;
let pkg: string;
const version = (
  JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-bin-'));
  pkg = join(dir, 'pkg');
  await mkdir(join(pkg, 'bin'), { recursive: true });
  await copyFile(join(PACKAGE_ROOT, 'bin/ferry.js'), join(pkg, 'bin/ferry.js'));
  await copyFile(join(PACKAGE_ROOT, 'releases.yaml'), join(pkg, 'releases.yaml'));
  // Linked, not copied: the build records each source's mtime, and a copy would have a new one.
  for (const shared of ['node_modules', 'app', 'pipeline', 'scripts', 'package.json', 'package-lock.json'])
    await symlink(join(PACKAGE_ROOT, shared), join(pkg, shared));
  const built = spawnSync(
    process.execPath,
    [join(PACKAGE_ROOT, 'scripts/build-cli.mjs'), '--out', join(pkg, 'lib/cli')],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  // Its one line of progress goes to stderr (npm pack --json keeps stdout to itself).
  expect(built.stderr).toBe('ferry CLI compiled to pkg/lib/cli\n');
  expect(built.stdout).toBe('');
  expect(built.status).toBe(0);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

function ferry(args: string[], cwd = dir, node = process.execPath) {
  return spawnSync(node, [join(pkg, 'bin/ferry.js'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: dir },
  });
}

describe('the compiled CLI', () => {
  it('answers --version and --help, and loads a command with the embedded releases.yaml', () => {
    const v = ferry(['--version']);
    expect(v.stderr).toBe('');
    expect(v.stdout).toBe(`${version}\n`);
    expect(ferry(['--help']).stdout).toContain('usage: ferry <command> [options]');
    const releases = ferry(['releases', '--json']);
    expect(releases.status).toBe(0);
    const out = JSON.parse(releases.stdout) as { ok: boolean; app: string; registry: string };
    expect(out.ok).toBe(true);
    expect(out.app).toBe('ferry-storage');
    // The package root the compiled modules found is this copy, not the repository.
    expect(out.registry).toContain(join(pkg, '.ferry', 'registry'));
  });

  it('refuses a bad option with the usage exit code, as the sources do', () => {
    const bad = ferry(['build', '--nope']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("error: unknown option '--nope'");
  });

  it('builds a release: ncc found from the compiled code, the bundled tar writer', async () => {
    const app = await makeFixtureApp({ name: 'tiny' });
    try {
      const r = ferry(['-c', app.configFile, 'build', '--version', '1.0.0', '--json'], app.root);
      expect(r.stderr).not.toContain('error');
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout) as { path: string; version: string; size: number };
      expect(out.version).toBe('1.0.0');
      expect((await readFile(out.path)).length).toBe(out.size);
    } finally {
      await app.cleanup();
    }
  });
});

// This machine runs Node 20; CI runners and operators' machines have 22 and 24.
describeIf(
  requireTestRuntimes([
    { version: NODE_22, arch: 'x64' },
    { version: NODE_24, arch: 'x64' },
  ]),
  'the compiled CLI on Node 22 and 24',
  () => {
    it.each([NODE_22, NODE_24])(
      'Node %s: --version, releases, and a build (ncc runs on it)',
      async (v) => {
        const node = (await testRuntime(v)).binary;
        const ver = ferry(['--version'], dir, node);
        expect(ver.stderr).toBe('');
        expect(ver.stdout).toBe(`${version}\n`);
        const releases = ferry(['releases', '--json'], dir, node);
        expect(releases.status, releases.stderr).toBe(0);
        expect((JSON.parse(releases.stdout) as { ok: boolean }).ok).toBe(true);
        const app = await makeFixtureApp({ name: 'tiny' });
        try {
          const r = ferry(['-c', app.configFile, 'build', '--version', '1.0.0', '--json'], app.root, node);
          expect(r.status, r.stderr).toBe(0);
          const out = JSON.parse(r.stdout) as { path: string; size: number; manifest?: unknown };
          expect((await readFile(out.path)).length).toBe(out.size);
        } finally {
          await app.cleanup();
        }
      },
      120_000,
    );
  },
);

describe('which CLI the bin runs', () => {
  // A stand-in for the compiled entry that says so, so the test sees which one ran.
  const STUB = `export async function main(argv, io) { io.stdout.write('compiled ' + argv.join(' ') + '\\n'); return 0; }\n`;
  const info = () => join(pkg, 'lib/cli/build-info.json');

  it('runs the build while every recorded source matches, and the sources once one changed', async () => {
    const original = await readFile(info(), 'utf8');
    const realMain = await readFile(join(pkg, 'lib/cli/main.js'), 'utf8');
    try {
      await writeFile(join(pkg, 'lib/cli/main.js'), STUB);
      expect(ferry(['--version']).stdout).toBe('compiled --version\n');

      // A source edited after the build: its recorded mtime no longer matches.
      const edited = JSON.parse(original) as { inputs: Record<string, { mtimeMs: number }> };
      const entry = edited.inputs['pipeline/cli/main.ts'];
      expect(entry).toBeDefined();
      if (entry) entry.mtimeMs -= 1000;
      await writeFile(info(), JSON.stringify(edited));
      const stale = ferry(['--version']);
      expect(stale.stdout).toBe(`${version}\n`);

      // No build at all (a clone before `npm ci`): the sources.
      await rm(info());
      expect(ferry(['--version']).stdout).toBe(`${version}\n`);
    } finally {
      await writeFile(info(), original);
      await writeFile(join(pkg, 'lib/cli/main.js'), realMain);
    }
  });
});
