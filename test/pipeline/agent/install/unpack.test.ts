// Malicious and broken archives against the unpacker: each is refused with a reason, and nothing lands
// outside the staging directory.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../../../pipeline/agent/errors';
import { unpackArtifact } from '../../../../pipeline/agent/install/unpack';
import { type CraftEntry, craftTarGz, zeroBomb } from '../../../fixtures/tar-craft';

let work: string;
let staging: string;

beforeEach(async () => {
  // work/a/b/staging: ".." escapes from staging would land in work/a/b or above, where we look for them.
  work = await mkdtemp(join(tmpdir(), 'ferry-unpack-'));
  await mkdir(join(work, 'a', 'b'), { recursive: true });
  staging = join(work, 'a', 'b', 'staging');
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function unpack(bytes: Buffer, maxBytes = 10 * 1024 * 1024) {
  const archive = join(work, 'artifact.tar.gz');
  await writeFile(archive, bytes);
  return unpackArtifact(archive, staging, { maxBytes });
}

async function refused(bytes: Buffer, code: string, reason: RegExp, maxBytes?: number) {
  const err = await unpack(bytes, maxBytes).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AgentError);
  expect((err as AgentError).code).toBe(code);
  expect((err as AgentError).message).toMatch(reason);
}

/** Everything under work/, except inside staging and the archive itself. */
async function outsideStaging(): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir(work, { recursive: true })) {
    const n = String(name);
    if (n === 'artifact.tar.gz' || n === 'a' || n === join('a', 'b') || n === join('a', 'b', 'staging'))
      continue;
    if (n.startsWith(join('a', 'b', 'staging') + '/')) continue;
    found.push(n);
  }
  return found;
}

const ok: CraftEntry[] = [
  { path: 'manifest.json', body: '{}' },
  { path: 'app/', type: 'Directory' },
  { path: 'app/index.js', body: 'export {};\n' },
];

describe('unpackArtifact', () => {
  it('unpacks regular files and directories', async () => {
    const res = await unpack(craftTarGz([...ok, { path: './app/assets/x.txt', body: 'x' }]));
    expect(res.files.sort()).toEqual(['app/assets/x.txt', 'app/index.js', 'manifest.json']);
    expect(await readFile(join(staging, 'app', 'index.js'), 'utf8')).toBe('export {};\n');
  });

  it.each([
    ['a ".." path', { path: '../../escape.txt', body: 'pwned' }, /climbs out/],
    ['a ".." path inside a directory', { path: 'app/../../../escape.txt', body: 'pwned' }, /climbs out/],
    [
      'an absolute path',
      { path: `/tmp/ferry-abs-${randomBytes(4).toString('hex')}`, body: 'pwned' },
      /absolute path/,
    ],
    [
      'a symlink',
      { path: 'app/link', type: 'SymbolicLink', linkpath: '/etc/passwd' },
      /symlink app\/link -> \/etc\/passwd/,
    ],
    ['a symlink to a parent', { path: 'up', type: 'SymbolicLink', linkpath: '..' }, /symlink/],
    ['a hardlink', { path: 'app/hard', type: 'Link', linkpath: 'app/index.js' }, /hardlink/],
    ['a FIFO', { path: 'app/fifo', type: 'FIFO' }, /FIFO app\/fifo/],
    ['a character device', { path: 'app/null', type: 'CharacterDevice' }, /device file/],
    ['a block device', { path: 'app/sda', type: 'BlockDevice' }, /device file/],
  ] as [string, CraftEntry, RegExp][])('refuses %s', async (_name, entry, reason) => {
    await refused(craftTarGz([...ok, entry]), 'unsafe_archive', reason);
    expect(await outsideStaging()).toEqual([]);
    if (entry.path.startsWith('/')) await expect(lstat(entry.path)).rejects.toThrow();
  });

  it('refuses a link placed before a file that would write through it', async () => {
    await refused(
      craftTarGz([
        { path: 'app', type: 'SymbolicLink', linkpath: '../..' },
        { path: 'app/escape.txt', body: 'pwned' },
      ]),
      'unsafe_archive',
      /symlink/,
    );
    expect(await outsideStaging()).toEqual([]);
  });

  it('refuses a duplicate entry instead of letting the last one win', async () => {
    await refused(
      craftTarGz([...ok, { path: 'app/index.js', body: 'evil' }]),
      'unsafe_archive',
      /duplicate entry/,
    );
  });

  it('refuses a decompression bomb at the cap', async () => {
    const bomb = await zeroBomb(64 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(256 * 1024);
    await refused(bomb, 'archive_too_large', /more than 8388608 bytes/, 8 * 1024 * 1024);
  });

  it('refuses what is not gzip', async () => {
    await refused(Buffer.from('not gzip at all'), 'unsafe_archive', /not a gzip archive/);
  });

  it('refuses gzip that is not a tar', async () => {
    await refused(gzipSync(Buffer.alloc(2048, 0x41)), 'unsafe_archive', /not a valid tar/);
  });
});
