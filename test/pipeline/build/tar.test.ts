import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readArtifactBytes } from '../../../pipeline/build/read-artifact';
import { brotliParams, createTar, createTarBr, createTarGz } from '../../../pipeline/build/tar';
import { NODE_22, NODE_24, requireTestRuntimes, testRuntime } from '../../support/node-runtimes';
import { describeIf } from '../../support/require-tool';

const files = [
  { path: 'manifest.json', bytes: Buffer.from('{}\n') },
  { path: 'app/index.js', bytes: Buffer.from('console.log(1)\n') },
  { path: 'app/static/logo.svg', bytes: Buffer.from('<svg/>') },
  { path: 'app/bin/tool', bytes: Buffer.from('#!/bin/sh\n'), executable: true },
  { path: 'app-x.txt', bytes: Buffer.alloc(0) },
];

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('deterministic tar.gz', () => {
  it('gives the same bytes for the same files in any input order', () => {
    const a = createTarGz(files, 1_700_000_000);
    const b = createTarGz([...files].reverse(), 1_700_000_000);
    expect(a.equals(b)).toBe(true);
    expect(createTarGz(files, 1_700_000_001).equals(a)).toBe(false);
  });

  it('writes a gzip header with no timestamp and OS byte 3', () => {
    const gz = createTarGz(files, 1_700_000_000);
    expect([...gz.subarray(0, 4)]).toEqual([0x1f, 0x8b, 8, 0]); // magic, deflate, no flags (no name)
    expect(gz.readUInt32LE(4)).toBe(0);
    expect(gz[9]).toBe(3);
    expect(gunzipSync(gz).equals(createTar(files, 1_700_000_000))).toBe(true);
  });

  it('sorts entries by bytes, adds each parent directory before its contents, and fixes owners, modes and mtimes', async () => {
    const entries = await readArtifactBytes(createTarGz(files, 1_700_000_000), 'gzip');
    expect(entries.map((e) => `${e.type}:${e.path}`)).toEqual([
      'file:app-x.txt', // "-" sorts before "/": byte order, not "directories first"
      'directory:app',
      'directory:app/bin',
      'file:app/bin/tool',
      'file:app/index.js',
      'directory:app/static',
      'file:app/static/logo.svg',
      'file:manifest.json',
    ]);
    for (const e of entries) {
      expect(e.mtime).toBe(1_700_000_000);
      expect([e.uid, e.gid, e.uname, e.gname]).toEqual([0, 0, '', '']);
      expect(e.mode & 0o7777).toBe(e.type === 'directory' || e.path === 'app/bin/tool' ? 0o755 : 0o644);
    }
    expect(entries.find((e) => e.path === 'app/index.js')?.bytes.toString()).toBe('console.log(1)\n');
  });

  it('is readable by the system tar, long paths included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-tar-'));
    dirs.push(dir);
    const long = `app/${'d'.repeat(90)}/${'f'.repeat(60)}.js`;
    const file = join(dir, 'a.tar.gz');
    await writeFile(file, createTarGz([...files, { path: long, bytes: Buffer.from('x') }], 0));
    const list = spawnSync('tar', ['-tzvf', file], { encoding: 'utf8' });
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(long);
    expect(list.stdout).toMatch(/-rwxr-xr-x 0\/0 .* app\/bin\/tool/);
    const x = spawnSync('tar', ['-xzf', file, '-C', dir], { encoding: 'utf8' });
    expect(x.stderr).toBe('');
    expect(x.status).toBe(0);
  });
});

/** About 1 MiB of bundle-like text, the same on every run: enough for the encoder to make real choices. */
function bundleLike(): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    lines.push(
      `function f${i}(a,b){return a${i % 7 ? '+' : '*'}b+${(i * 7919) % 10007}}// ${'x'.repeat(i % 13)}`,
    );
  }
  return Buffer.from(lines.join('\n'));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('deterministic tar.br', () => {
  const big = [...files, { path: 'app/bundle.js', bytes: bundleLike() }];

  it('gives the same bytes for the same files in any input order, and unpacks to the same tar', () => {
    const a = createTarBr(big, 1_700_000_000);
    const b = createTarBr([...big].reverse(), 1_700_000_000);
    expect(a.equals(b)).toBe(true);
    expect(createTarBr(big, 1_700_000_001).equals(a)).toBe(false);
    expect(brotliDecompressSync(a).equals(createTar(big, 1_700_000_000))).toBe(true);
    // Not gzip: no gzip magic at the start.
    expect([...a.subarray(0, 2)]).not.toEqual([0x1f, 0x8b]);
  });

  it('reads back the same entries as the .tar.gz of the same files', async () => {
    const br = await readArtifactBytes(createTarBr(files, 1_700_000_000), 'brotli');
    const gz = await readArtifactBytes(createTarGz(files, 1_700_000_000), 'gzip');
    expect(br).toEqual(gz);
  });

  it('is refused by the reader when the format given is not what the bytes are', async () => {
    await expect(readArtifactBytes(createTarGz(files, 0), 'brotli')).rejects.toThrow(/not a brotli archive/);
    await expect(readArtifactBytes(createTarBr(files, 0), 'gzip')).rejects.toThrow(/not a gzip archive/);
  });
});

describeIf([requireTestRuntimes()], 'tar.br across Node versions', () => {
  it('Node 22 and Node 24 (another brotli version) compress the tar to the bytes this Node does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-tar-br-'));
    dirs.push(dir);
    const tarFile = join(dir, 'artifact.tar');
    const big = [...files, { path: 'app/bundle.js', bytes: bundleLike() }];
    await writeFile(tarFile, createTar(big, 1_700_000_000));
    const ours = sha(createTarBr(big, 1_700_000_000));
    // The same call createTarBr makes, with the same parameters, in another Node.
    const script = `const z=require('node:zlib'),fs=require('node:fs'),c=require('node:crypto');
      const out=z.brotliCompressSync(fs.readFileSync(process.argv[1]),{params:JSON.parse(process.argv[2])});
      process.stdout.write(JSON.stringify({brotli:process.versions.brotli,sha:c.createHash('sha256').update(out).digest('hex')}));`;
    const seen: Record<string, string> = {};
    for (const version of [NODE_22, NODE_24]) {
      const rt = await testRuntime(version);
      const r = spawnSync(rt.binary, ['-e', script, tarFile, JSON.stringify(brotliParams())], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const { brotli, sha: theirs } = JSON.parse(r.stdout) as { brotli: string; sha: string };
      seen[version] = brotli;
      expect(theirs, `Node ${version} (brotli ${brotli})`).toBe(ours);
    }
    // The premise: the two runtimes do not share one encoder version.
    expect(new Set(Object.values(seen)).size).toBe(2);
  });
});
