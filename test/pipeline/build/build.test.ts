import { spawnSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildResult, buildRelease } from '../../../pipeline/build/build';
import { sha256 } from '../../../pipeline/build/hash';
import { innerManifest, readArtifact } from '../../../pipeline/build/read-artifact';
import { loadConfig } from '../../../pipeline/config/load';
import { FerryError } from '../../../pipeline/errors';
import { ExitCode } from '../../../pipeline/exit-codes';
import { FAKE_ACCESS_KEY_ID } from '../../fixtures/fake-credentials';
import { boot, extract } from './boot';
import { type FixtureApp, makeFixtureApp } from './fixture-app';

const SDE = { SOURCE_DATE_EPOCH: '1700000000' };
const fixtures: FixtureApp[] = [];
const dirs: string[] = [];

async function fixture(opts: Parameters<typeof makeFixtureApp>[0] = {}) {
  const f = await makeFixtureApp(opts);
  fixtures.push(f);
  return f;
}

function build(f: FixtureApp, env: Record<string, string> = SDE, version: string | null = '1.0.0') {
  return buildRelease({ config: loadConfig({ cwd: f.root, env: {} }), env, version: version ?? undefined });
}

afterAll(async () => {
  for (const f of fixtures) await f.cleanup();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('ferry build (fixture app)', () => {
  let first: BuildResult;
  let twin: BuildResult;

  // Two checkouts of the same source in different folders: ncc runs from each project root, so
  // nothing about the location may leak into the bytes.
  beforeAll(async () => {
    const [a, b] = [await fixture(), await fixture()];
    [first, twin] = [await build(a as FixtureApp), await build(b as FixtureApp)];
  });

  it('is reproducible: the same source gives the same sha256, wherever it is built', () => {
    expect(first.path).not.toBe(twin.path);
    expect(first.sha256).toBe(twin.sha256);
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('writes the bundle, its assets and a manifest describing every file', async () => {
    const entries = await readArtifact(first.path);
    const paths = entries.filter((e) => e.type === 'file').map((e) => e.path);
    expect(paths).toContain('app/index.js');
    expect(paths).not.toContain('app/index.js.map');
    expect(paths).not.toContain('app/sourcemap-register.cjs');
    expect(paths).toContain('app/package.json');
    expect(
      JSON.parse(entries.find((e) => e.path === 'app/package.json')?.bytes.toString() ?? '{}').type,
    ).toBe('module');
    const m = innerManifest(entries);
    expect(m).toMatchObject({
      name: 'fixture',
      version: '1.0.0',
      commit: null,
      buildTime: '2023-11-14T22:13:20.000Z',
      entry: 'app/index.js',
      node: '>=20',
    });
    expect(m.files.map((f) => f.path).sort()).toEqual(paths.filter((p) => p !== 'manifest.json').sort());
    for (const f of m.files) {
      const e = entries.find((x) => x.path === f.path);
      expect(e && sha256(e.bytes)).toBe(f.sha256);
      expect(e?.bytes.length).toBe(f.size);
    }
    expect(entries.every((e) => e.mtime === 1_700_000_000 && e.uid === 0 && e.uname === '')).toBe(true);
    expect(first.path.endsWith('/dist/fixture-1.0.0.tar.br')).toBe(true);
  });

  it('runs from the extracted artifact with no node_modules', async () => {
    const dir = await extract(await readArtifact(first.path));
    dirs.push(dir);
    const app = await boot(dir);
    try {
      const res = await fetch(`http://127.0.0.1:${app.port}/`);
      expect(await res.text()).toBe('hello from the fixture');
    } finally {
      await app.stop();
    }
  });

  it('gives another hash for another source', async () => {
    const other = await build(await fixture({ message: 'changed' }));
    expect(other.sha256).not.toBe(first.sha256);
  });

  it('stamps files with the commit time and names the version after the commit in git', async () => {
    const f = await fixture();
    const git = (...args: string[]) =>
      spawnSync('git', args, {
        cwd: f.root,
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@example.com',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@example.com',
          GIT_AUTHOR_DATE: '2024-01-02T03:04:05Z',
          GIT_COMMITTER_DATE: '2024-01-02T03:04:05Z',
        },
        encoding: 'utf8',
      });
    await writeFile(join(f.root, '.gitignore'), 'dist/\n');
    expect(git('init', '-q').status).toBe(0);
    git('add', '-A');
    expect(git('commit', '-q', '-m', 'fixture').status).toBe(0);
    const head = git('rev-parse', 'HEAD').stdout.trim();

    const r = await build(f, {}, null);
    expect(r.version).toBe(`1.0.0-${head.slice(0, 7)}`);
    expect(r.manifest.commit).toBe(head);
    expect(r.manifest.buildTime).toBe('2024-01-02T03:04:05.000Z');
    // Same source as `first`, other timestamps: another artifact.
    expect(r.sha256).not.toBe(first.sha256);
  });

  it('refuses to build a bundle that carries an AccessKey id, naming file, line and column', async () => {
    const f = await fixture({
      extraSource: `export const leaked = '${FAKE_ACCESS_KEY_ID}';\nconsole.log(leaked);`,
    });
    const err = await build(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).exitCode).toBe(ExitCode.Failure);
    expect((err as Error).message).toMatch(
      /app\/index\.js:\d+:\d+: looks like an Alibaba Cloud AccessKey id \(LTAI5t…\)/,
    );
    expect((err as Error).message).not.toContain(FAKE_ACCESS_KEY_ID);
  });

  it('reports a missing entry as a config error and a bad version as a usage error', async () => {
    const f = await fixture();
    await rm(join(f.root, 'app/server.ts'));
    await expect(build(f)).rejects.toMatchObject({
      exitCode: ExitCode.Config,
      message: expect.stringMatching(/app\.entry/),
    });
    await expect(build(fixtures[0] as FixtureApp, SDE, '../x')).rejects.toMatchObject({
      exitCode: ExitCode.Usage,
    });
  });
});
