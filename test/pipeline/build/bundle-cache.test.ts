// The ncc bundle cache: a second build of an unchanged tree skips ncc and gives the same artifact; any
// change to a source, the lockfile or the toolchain flags misses; a damaged entry is rebuilt, not used.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildResult, buildRelease } from '../../../pipeline/build/build';
import { bundleCacheDir, projectFiles } from '../../../pipeline/build/bundle-cache';
import { loadConfig } from '../../../pipeline/config/load';
import { type FixtureApp, makeFixtureApp } from './fixture-app';

const env = { SOURCE_DATE_EPOCH: '1700000000' };
let app: FixtureApp;
let first: BuildResult;

async function build(noCache = false) {
  const steps: string[] = [];
  const r = await buildRelease({
    config: loadConfig({ cwd: app.root, env: {} }),
    env,
    version: '1.0.0',
    noCache,
    onStep: (m) => steps.push(m),
  });
  return { ...r, steps };
}

beforeAll(async () => {
  app = await makeFixtureApp({ name: 'cached' });
  await writeFile(join(app.root, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n');
  first = await build();
});
afterAll(() => app.cleanup());

describe('the bundle cache', () => {
  it('runs ncc on the first build and not on a rebuild of the same tree; the artifact is the same', async () => {
    expect(first.bundleCached).toBe(false);
    const again = await build();
    expect(again.bundleCached).toBe(true);
    expect(again.steps.some((s) => s.startsWith('bundling app/server.ts with ncc'))).toBe(false);
    expect(again.steps).toContainEqual(expect.stringMatching(/ncc skipped$/));
    expect(again.sha256).toBe(first.sha256);
    expect(await readFile(again.sourceMapPath as string)).toEqual(
      await readFile(first.sourceMapPath as string),
    );
  });

  it('misses when a source changes, and again when the lockfile changes', async () => {
    const server = join(app.root, 'app/server.ts');
    const original = await readFile(server, 'utf8');
    await writeFile(server, `${original}\nconsole.log('changed');\n`);
    const changed = await build();
    expect(changed.bundleCached).toBe(false);
    expect(changed.sha256).not.toBe(first.sha256);
    await writeFile(server, original);
    expect((await build()).bundleCached).toBe(true);

    await writeFile(join(app.root, 'package-lock.json'), '{"lockfileVersion":3,"packages":{"":{}}}\n');
    const relocked = await build();
    expect(relocked.bundleCached).toBe(false);
    // Same sources, same bundle: the lockfile is a key, not an input of this app's bundle.
    expect(relocked.sha256).toBe(first.sha256);
  });

  it('rebuilds instead of using an entry whose files were altered', async () => {
    const dir = bundleCacheDir(app.root, {});
    for (const key of await readdir(dir)) {
      const file = join(dir, key, 'files', 'index.js');
      await writeFile(file, `${await readFile(file, 'utf8')}/* tampered */`);
    }
    const r = await build();
    expect(r.bundleCached).toBe(false);
    expect(r.sha256).toBe(first.sha256);
    expect((await build()).bundleCached).toBe(true);
  });

  it('keys on the entry’s project, not on the folder of releases.yaml', async () => {
    // releases.yaml in a subfolder naming ../app/server.ts: the app's files still decide the key.
    const sub = join(app.root, 'deploy');
    await mkdir(sub, { recursive: true });
    await writeFile(
      join(sub, 'releases.yaml'),
      'app: {name: cached, entry: ../app/server.ts}\nregistry: {type: local}\n',
    );
    const fromSub = () =>
      buildRelease({
        config: loadConfig({ cwd: sub, env: {} }),
        env,
        version: '1.0.0',
        outDir: join(sub, 'out'),
      });
    expect((await fromSub()).bundleCached).toBe(false);
    expect((await fromSub()).bundleCached).toBe(true);
    const server = join(app.root, 'app/server.ts');
    const original = await readFile(server, 'utf8');
    await writeFile(server, `${original}\nconsole.log('changed again');\n`);
    try {
      expect((await fromSub()).bundleCached).toBe(false);
    } finally {
      await writeFile(server, original);
    }
  });

  it('--no-cache runs ncc even on a hit', async () => {
    const r = await build(true);
    expect(r.bundleCached).toBe(false);
    expect(r.steps).toContain('bundling app/server.ts with ncc');
  });

  it('keys on project files only: not node_modules, dot-folders, dist/ or the output folder', async () => {
    for (const f of ['node_modules/x/index.js', 'app/node_modules/y.js', '.git/HEAD', 'out/a.tar.gz']) {
      await mkdir(dirname(join(app.root, f)), { recursive: true });
      await writeFile(join(app.root, f), 'x');
    }
    const files = await projectFiles(app.root, [join(app.root, 'out')]);
    expect(files.filter((f) => !f.startsWith('deploy/'))).toEqual([
      'app/server.ts',
      'package-lock.json',
      'package.json',
      'releases.yaml',
      'tsconfig.json',
    ]);
  });
});
