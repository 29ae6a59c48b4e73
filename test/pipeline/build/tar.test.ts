import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readArtifactBytes } from '../../../pipeline/build/read-artifact';
import { createTar, createTarGz } from '../../../pipeline/build/tar';

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
    const entries = await readArtifactBytes(createTarGz(files, 1_700_000_000));
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
