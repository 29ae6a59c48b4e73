// Malicious and broken archives against the unpacker, in both compressions a release may have (brotli, and
// gzip for releases published before it): each is refused with a reason, and nothing lands outside the
// staging directory.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../../../pipeline/agent/errors';
import { unpackArtifact } from '../../../../pipeline/agent/install/unpack';
import type { ArtifactFormat } from '../../../../pipeline/release/layout';
import { type CraftEntry, craftArchive, craftTar, zeroBomb } from '../../../fixtures/tar-craft';

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

async function unpack(bytes: Buffer, format: ArtifactFormat, maxBytes = 10 * 1024 * 1024) {
  // One name for both: the format given decides, never the file name or the bytes.
  const archive = join(work, 'artifact');
  await writeFile(archive, bytes);
  return unpackArtifact(archive, staging, { format, maxBytes });
}

async function refused(
  bytes: Buffer,
  format: ArtifactFormat,
  code: string,
  reason: RegExp,
  maxBytes?: number,
) {
  const err = await unpack(bytes, format, maxBytes).then(
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
    if (n === 'artifact' || n === 'a' || n === join('a', 'b') || n === join('a', 'b', 'staging')) continue;
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

describe.each(['brotli', 'gzip'] as const)('unpackArtifact, %s', (format) => {
  it('unpacks regular files and directories', async () => {
    const res = await unpack(
      craftArchive([...ok, { path: './app/assets/x.txt', body: 'x' }], format),
      format,
    );
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
    await refused(craftArchive([...ok, entry], format), format, 'unsafe_archive', reason);
    expect(await outsideStaging()).toEqual([]);
    if (entry.path.startsWith('/')) await expect(lstat(entry.path)).rejects.toThrow();
  });

  it('refuses a link placed before a file that would write through it', async () => {
    await refused(
      craftArchive(
        [
          { path: 'app', type: 'SymbolicLink', linkpath: '../..' },
          { path: 'app/escape.txt', body: 'pwned' },
        ],
        format,
      ),
      format,
      'unsafe_archive',
      /symlink/,
    );
    expect(await outsideStaging()).toEqual([]);
  });

  it('refuses a duplicate entry instead of letting the last one win', async () => {
    await refused(
      craftArchive([...ok, { path: 'app/index.js', body: 'evil' }], format),
      format,
      'unsafe_archive',
      /duplicate entry/,
    );
  });

  it('refuses a decompression bomb at the cap', async () => {
    const bomb = await zeroBomb(64 * 1024 * 1024, 'app/zeros.bin', format);
    expect(bomb.length).toBeLessThan(256 * 1024);
    await refused(bomb, format, 'archive_too_large', /more than 8388608 bytes/, 8 * 1024 * 1024);
    expect(await outsideStaging()).toEqual([]);
  });

  it(`refuses what is not ${format}`, async () => {
    await refused(
      Buffer.from('not compressed at all'),
      format,
      'unsafe_archive',
      new RegExp(`not a ${format} archive`),
    );
  });

  it(`refuses ${format} that is not a tar`, async () => {
    const junk = Buffer.alloc(2048, 0x41);
    const packed = format === 'brotli' ? brotliCompressSync(junk) : gzipSync(junk);
    await refused(packed, format, 'unsafe_archive', /not a valid tar/);
  });

  it('refuses a truncated archive', async () => {
    const whole = craftArchive([...ok, { path: 'app/big.bin', body: randomBytes(64 * 1024) }], format);
    await refused(
      whole.subarray(0, whole.length >> 1),
      format,
      'unsafe_archive',
      new RegExp(`not a ${format} archive`),
    );
  });

  it('refuses a gzip stream inside the outer stream instead of letting tar unpack it past the cap', async () => {
    // Without the check, tar's parser would gunzip the inner stream itself, uncounted.
    const inner = gzipSync(craftTar([...ok, { path: 'app/zeros.bin', body: Buffer.alloc(4 * 1024 * 1024) }]));
    const outer = format === 'brotli' ? brotliCompressSync(inner) : gzipSync(inner);
    await refused(
      outer,
      format,
      'unsafe_archive',
      new RegExp(`a compressed stream inside the ${format} stream`),
      1024 * 1024,
    );
    expect(await readdir(staging)).toEqual([]);
  });

  it('takes the compression it is told, not what the bytes are', async () => {
    const other = format === 'brotli' ? 'gzip' : 'brotli';
    await refused(craftArchive(ok, other), format, 'unsafe_archive', new RegExp(`not a ${format} archive`));
  });
});
