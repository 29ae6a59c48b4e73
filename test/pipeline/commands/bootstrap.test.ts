// The bare-host bootstrap: the probe's parsing and verdicts, exactly; then the real scripts under sh on
// this machine: the probe reads this host, and the install script installs a real Node runtime from a
// file:// URL (as a local registry hands out), idempotently, and refuses bad bytes leaving nothing behind.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archOf,
  BOOTSTRAP_EXIT,
  hostFits,
  installRuntimeArgv,
  parseHostProbe,
  probeHostArgv,
} from '../../../pipeline/commands/bootstrap';
import { fileDigestsArgv, parseDigests } from '../../../pipeline/commands/digests';
import type { RuntimePin } from '../../../pipeline/release/manifest';
import { type PackedRuntime, packRuntime } from '../../fixtures/runtimes';

const sha = (c: string) => c.repeat(64);
const pin = (glibc: string | null = '2.28'): RuntimePin => ({
  name: 'node',
  version: '22.23.5',
  artifacts: {
    x64: {
      key: 'releases/runtimes/node-22.23.5-linux-x64-aaaaaaaaaaaa.tar.gz',
      size: 10,
      sha256: sha('a'),
      glibc,
    },
  },
});
const probe = (lines: string) => parseHostProbe(lines);
const TOOLS = 'has=curl\nhas=sha256sum\nhas=tar\nhas=gzip\n';

describe('the probe and its verdict', () => {
  it('parses what the probe prints', () => {
    const p = probe('machine=x86_64\nkernel=Linux\nlibc=glibc 2.36\nhas=curl\nhas=tar\n');
    expect(p).toEqual({
      machine: 'x86_64',
      kernel: 'Linux',
      libc: 'glibc 2.36',
      has: new Set(['curl', 'tar']),
    });
    expect([archOf('x86_64'), archOf('aarch64'), archOf('armv7l')]).toEqual(['x64', 'arm64', null]);
  });

  it('accepts a host with the arch, a new enough glibc and the tools', () => {
    const fit = hostFits(probe(`machine=x86_64\nkernel=Linux\nlibc=glibc 2.28\n${TOOLS}`), pin());
    expect(fit).toMatchObject({ ok: true, arch: 'x64', artifact: { sha256: sha('a') } });
  });

  it('refuses, naming what it found and what is needed', () => {
    const v = (text: string, p = pin()) => {
      const fit = hostFits(probe(text), p);
      return fit.ok ? [] : fit.problems;
    };
    expect(v(`machine=x86_64\nkernel=Linux\nlibc=glibc 2.17\n${TOOLS}`)).toEqual([
      'the host has glibc 2.17; Node 22.23.5 needs glibc 2.28 or newer',
    ]);
    expect(v(`machine=x86_64\nkernel=Linux\nlibc=musl\n${TOOLS}`)).toEqual([
      "the host's C library is musl (e.g. Alpine); Node 22.23.5 needs glibc 2.28 or newer",
    ]);
    expect(v(`machine=aarch64\nkernel=Linux\nlibc=glibc 2.36\n${TOOLS}`)).toEqual([
      'the host is arm64 (aarch64); this release ships Node 22.23.5 for x64 only: add arm64 to app.runtime.arch and publish again',
    ]);
    expect(v(`machine=riscv64\nkernel=Linux\nlibc=glibc 2.36\n${TOOLS}`)).toEqual([
      "the host's CPU is riscv64; Node 22.23.5 is shipped for x64 only",
    ]);
    expect(v('machine=x86_64\nkernel=Linux\nlibc=glibc 2.36\nhas=tar\nhas=gzip\n')).toEqual([
      'the host lacks curl or wget, sha256sum or openssl (see "Host prerequisites" in docs/deploy.md)',
    ]);
    // glibc unknown only matters when the build needs one.
    expect(v(`machine=x86_64\nkernel=Linux\nlibc=unknown\n${TOOLS}`, pin(null))).toEqual([]);
  });

  it('really probes this machine', async () => {
    const [cmd, ...args] = probeHostArgv();
    const { stdout } = await promisify(execFile)(cmd as string, args);
    const p = parseHostProbe(stdout);
    expect(archOf(p.machine)).toBe(process.arch);
    expect(p.libc).toMatch(/^glibc 2\.\d+$/);
    expect(p.has.has('tar') && p.has.has('gzip') && p.has.has('sha256sum')).toBe(true);
  });
});

describe('the install script, run for real', () => {
  let root: string;
  let rt: PackedRuntime;
  let archive: string;
  const run = (argv: string[], stdin: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c;
      });
      child.stderr.on('data', (c: Buffer) => {
        stderr += c;
      });
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(stdin);
    });
  const argv = (over: Partial<{ sha256: string; size: number; version: string }> = {}) =>
    installRuntimeArgv({
      root,
      version: over.version ?? rt.version,
      arch: 'x64',
      sha256: over.sha256 ?? rt.sha256,
      size: over.size ?? rt.bytes.length,
    });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ferry-bootstrap-'));
    rt = await packRuntime();
    archive = join(root, 'runtime.tar.gz');
    await writeFile(archive, rt.bytes);
  }, 60_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('refuses bytes that do not match, and leaves no runtime and no link', async () => {
    const r = await run(argv({ sha256: sha('b') }), `${pathToFileURL(archive).href}\n`);
    expect(r.code).toBe(BOOTSTRAP_EXIT.sha256);
    expect(r.stderr).toContain('does not match the signed manifest');
    expect(await readdir(join(root, 'runtimes'))).toEqual([]);
    await expect(readlink(join(root, '.ferry', 'runtime'))).rejects.toThrow();
    expect(await readdir(join(root, '.ferry', 'tmp'))).toEqual([]);

    const short = await run(argv({ size: rt.bytes.length + 1 }), `${pathToFileURL(archive).href}\n`);
    expect(short.code).toBe(BOOTSTRAP_EXIT.size);
  });

  it('refuses a build that reports another version than it is pinned as', async () => {
    const r = await run(argv({ version: '1.2.3' }), `${pathToFileURL(archive).href}\n`);
    expect(r.code).toBe(BOOTSTRAP_EXIT.run);
    expect(r.stderr).toContain(`the runtime pinned as 1.2.3 reports v${process.versions.node}`);
    expect(await readdir(join(root, 'runtimes'))).toEqual([]);
  });

  it('installs, marks and links the runtime; a second run only finds it', async () => {
    const first = await run(argv(), `${pathToFileURL(archive).href}\n`);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const dir = join(root, 'runtimes', `${rt.version}-x64`);
    expect(first.stdout.trim()).toBe(`runtime=installed dir=${dir}`);
    expect(JSON.parse(await readFile(join(dir, '.ferry-runtime.json'), 'utf8'))).toMatchObject({
      name: 'node',
      version: rt.version,
      arch: 'x64',
      sha256: rt.sha256,
    });
    expect(await readlink(join(root, '.ferry', 'runtime'))).toBe(`../runtimes/${rt.version}-x64`);
    const { stdout } = await promisify(execFile)(join(root, '.ferry', 'runtime', 'bin', 'node'), [
      '--version',
    ]);
    expect(stdout.trim()).toBe(`v${rt.version}`);

    // No URL on stdin the second time: it must not even try to download.
    const again = await run(argv(), '');
    expect(again).toMatchObject({ code: 0, stdout: `runtime=present dir=${dir}\n` });
  });
});

describe('file digests', () => {
  it('hashes the files that exist and parses both tools’ formats', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-digests-'));
    try {
      await writeFile(join(dir, 'a'), 'hello\n');
      const [cmd, ...args] = fileDigestsArgv([join(dir, 'a'), join(dir, 'missing')]);
      const { stdout } = await promisify(execFile)(cmd as string, args);
      expect(parseDigests(stdout)).toEqual(
        new Map([[join(dir, 'a'), '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03']]),
      );
      expect(parseDigests(`${sha('c')} */x/y z\n`)).toEqual(new Map([['/x/y z', sha('c')]]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
