// Malicious archives, properly signed so they pass verify and download and reach the unpacker, deployed
// to a host serving 1.0.0: each is refused at unpack (exit 5, the reason named), nothing is written
// outside the staging directory (a sentinel folder next to the host, where the escapes aim, stays empty),
// staging and download are removed, and 1.0.0 keeps serving. The crafted tars are brotli-compressed, as
// `ferry build` writes releases; the bomb comes in both compressions (gzip: releases published before).
import { lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentBundle } from '../../pipeline/agent/bundle';
import { ExitCode } from '../../pipeline/exit-codes';
import type { ArtifactFormat } from '../../pipeline/release/layout';
import { deployArgs, destroyHost, makeHost, runAgent, type TestHost } from '../fixtures/agent-host';
import { type RegistryServer, startRegistryServer } from '../fixtures/registry-server';
import {
  FIXTURE_APP,
  fakeAppFiles,
  innerManifest,
  newSigningKey,
  packArtifact,
  publish,
  publishFakeApp,
  type SigningKey,
} from '../fixtures/releases';
import { type CraftEntry, craftTar, craftTarBr, paxBody, zeroBomb } from '../fixtures/tar-craft';

import { answers, completeCurrent, leftovers } from './support/host-checks';
import { recorded } from './support/record';

const SUITE = 'archives';
const CAP = 16 * 1024 * 1024;
let work: string;
let bundle: string;
let key: SigningKey;
let regDir: string;
let reg: RegistryServer;
let host: TestHost;
/** A folder beside the host root: where every escape below aims. */
let sentinel: string;
let serial = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ferry-archives-'));
  key = newSigningKey();
  regDir = join(work, 'registry');
  await mkdir(regDir);
  const [built, server] = await Promise.all([
    buildAgentBundle(join(work, 'agent')),
    startRegistryServer(regDir),
  ]);
  bundle = built.path;
  reg = server;
  host = await makeHost(key.publicKey, { maxUnpackedBytes: CAP });
  sentinel = await mkdtemp(join(tmpdir(), 'ferry-sentinel-'));
  const first = await runAgent(deployArgs(host, reg, await publishFakeApp(regDir, key, '1.0.0')), { bundle });
  expect(first.result?.ok, first.stderr).toBe(true);
});

afterAll(async () => {
  if (host) await destroyHost(host);
  await reg?.close();
  if (work) await rm(work, { recursive: true, force: true });
  if (sentinel) await rm(sentinel, { recursive: true, force: true });
});

// Staging is <root>/.ferry/tmp/unpack-V-x/: four ".." reach the folder holding the host root.
const up = () => `../../../../${basename(sentinel)}`;
const honest = (): CraftEntry[] => [
  { path: 'manifest.json', body: '{}' },
  { path: 'app/', type: 'Directory' },
  { path: 'app/index.js', body: 'export {};\n' },
];

interface ArchiveCase {
  name: string;
  proves: string;
  entries: () => CraftEntry[];
  code?: 'unsafe_archive' | 'archive_too_large';
  message: RegExp;
}

const CASES: ArchiveCase[] = [
  {
    name: 'a ".." path',
    proves: 'an entry climbing out of the release is refused before it is written',
    entries: () => [...honest(), { path: `${up()}/pwned-dotdot.txt`, body: 'pwned' }],
    message: /path climbs out with "\.\."/,
  },
  {
    name: 'a ".." hidden inside a directory path',
    proves: 'normalisation cannot smuggle ".." past the check',
    entries: () => [
      ...honest(),
      { path: `app/../../../../../${basename(sentinel)}/pwned-nested.txt`, body: 'x' },
    ],
    message: /path climbs out with "\.\."/,
  },
  {
    name: 'an absolute path',
    proves: 'absolute entries are refused, not re-rooted or written',
    entries: () => [...honest(), { path: `${sentinel}/pwned-absolute.txt`, body: 'pwned' }],
    message: /absolute path/,
  },
  {
    name: 'a symlink out of the release, then a file through it',
    proves: 'links are refused, so no later entry can write through one',
    entries: () => [
      ...honest(),
      { path: 'app/escape', type: 'SymbolicLink', linkpath: sentinel },
      { path: 'app/escape/pwned-through-link.txt', body: 'pwned' },
    ],
    message: /symlink app\/escape -> /,
  },
  {
    name: 'a symlink to a file outside',
    proves: 'a release holds no links at all',
    entries: () => [...honest(), { path: 'app/passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }],
    message: /symlink app\/passwd -> \/etc\/passwd/,
  },
  {
    name: 'a hardlink to a file outside',
    proves: 'hardlinks (which would alias a file outside) are refused',
    entries: () => [...honest(), { path: 'app/hard', type: 'Link', linkpath: `${up()}/pwned-hard.txt` }],
    message: /hardlink app\/hard -> /,
  },
  {
    name: 'a character device',
    proves: 'device files are refused',
    entries: () => [...honest(), { path: 'app/null', type: 'CharacterDevice' }],
    message: /device file app\/null/,
  },
  {
    name: 'a block device',
    proves: 'device files are refused',
    entries: () => [...honest(), { path: 'app/sda', type: 'BlockDevice' }],
    message: /device file app\/sda/,
  },
  {
    name: 'a FIFO',
    proves: 'FIFOs (which would block a reader) are refused',
    entries: () => [...honest(), { path: 'app/fifo', type: 'FIFO' }],
    message: /FIFO app\/fifo/,
  },
  {
    name: 'a duplicate entry',
    proves: 'a second copy of a path cannot silently replace the first',
    entries: () => [...honest(), { path: 'app/index.js', body: 'evil' }],
    message: /duplicate entry app\/index\.js/,
  },
  {
    name: 'a PAX header whose path carries ".."',
    proves: 'the path a PAX extended header gives the next entry is checked, not its innocent ustar name',
    entries: () => [
      ...honest(),
      {
        path: 'PaxHeader/innocent.txt',
        type: 'ExtendedHeader',
        body: paxBody({
          path: `app/${'long/'.repeat(30)}${'../'.repeat(35)}${basename(sentinel)}/pwned-pax.txt`,
        }),
      },
      { path: 'app/innocent.txt', body: 'pwned' },
    ],
    message: /path climbs out with "\.\."/,
  },
  {
    name: 'a GNU long name carrying ".."',
    proves:
      'the name a GNU long-name entry (type L) gives the next entry is checked, not its innocent ustar name',
    entries: () => [
      ...honest(),
      {
        path: '././@LongLink',
        type: 'NextFileHasLongPath',
        // 31 levels down, then 35 up: 4 above staging, where the sentinel is.
        body: `app/${'long/'.repeat(30)}${'../'.repeat(35)}${basename(sentinel)}/pwned-gnu.txt\0`,
      },
      { path: 'app/innocent.txt', body: 'pwned' },
    ],
    message: /path climbs out with "\.\."/,
  },
];

/**
 * Publishes `artifact` signed with the trusted key (so it passes verify and download) under the name
 * `format` gives it (.tar.br unless told), and deploys it.
 */
async function deployCrafted(artifact: Buffer, format: ArtifactFormat = 'brotli') {
  const version = `2.0.${serial++}`;
  const files = fakeAppFiles();
  const rel = await publish(regDir, key, {
    version,
    artifact,
    manifest: innerManifest(FIXTURE_APP, version, files),
    format,
  });
  return { version, run: await runAgent(deployArgs(host, reg, rel), { bundle }) };
}

async function filesNamedPwned(dir: string): Promise<string[]> {
  const all = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return all.map(String).filter((n) => n.includes('pwned'));
}

async function expectRefusedCleanly(
  version: string,
  run: Awaited<ReturnType<typeof runAgent>>,
  code: string,
  message: RegExp,
) {
  expect(run.code, run.stderr).toBe(ExitCode.Verification);
  expect(run.result).toMatchObject({ ok: false, rolledBack: false, error: { code, step: 'unpack' } });
  expect(run.result?.error.message).toMatch(message);
  expect(run.events.filter((e) => e.event === 'step').map((e) => e.step)).toEqual([
    'verify',
    'download',
    'unpack',
  ]);
  expect(await readdir(sentinel)).toEqual([]);
  expect(await filesNamedPwned(host.root)).toEqual([]);
  expect(await readdir(host.paths.tmp)).toEqual([]);
  expect(await leftovers(host.paths)).toEqual([]);
  await expect(lstat(join(host.paths.releases, version))).rejects.toThrow();
  expect(await completeCurrent(host.paths)).toBe('1.0.0');
  expect(await answers(host.port)).toEqual({ health: 200, version: '1.0.0' });
}

describe.sequential('malicious archives, validly signed', () => {
  it.each(CASES)('$name', (c) =>
    recorded({ suite: SUITE, case: c.name, proves: c.proves }, async (note) => {
      const { version, run } = await deployCrafted(craftTarBr(c.entries()));
      await expectRefusedCleanly(version, run, c.code ?? 'unsafe_archive', c.message);
      if (c.name === 'an absolute path')
        await expect(lstat(`${sentinel}/pwned-absolute.txt`)).rejects.toThrow();
      // The sentinel's random name and place would make the report differ on every run; long runs of one
      // path segment (the long-name cases) are counted rather than spelled out.
      const message = String(run.result?.error.message)
        .replaceAll(sentinel, '/tmp/<sentinel>')
        .replaceAll(basename(sentinel), '<sentinel>')
        .replace(/((?:long|\.\.)\/)\1{9,}/g, (m, seg: string) => `${seg}×${m.length / seg.length} `);
      note(`exit ${run.code}: ${message}`);
      note('sentinel empty, staging and download removed, 1.0.0 serving');
    })(),
  );

  it.each([
    { format: 'brotli', name: 'a decompression bomb (.tar.br)' },
    { format: 'gzip', name: 'a decompression bomb (.tar.gz, as published before brotli)' },
  ] as const)('$name', ({ format, name }) =>
    recorded(
      {
        suite: SUITE,
        case: name,
        proves:
          'decompressed bytes are counted against the cap (maxUnpackedBytes): refused as archive_too_large, nothing left behind',
      },
      async (note) => {
        const bomb = await zeroBomb(2 * CAP, 'app/zeros.bin', format);
        const { version, run } = await deployCrafted(bomb, format);
        await expectRefusedCleanly(version, run, 'archive_too_large', /unpacks to more than 16777216 bytes/);
        note(
          `${bomb.length} bytes of ${format} claiming ${2 * CAP} bytes; exit ${run.code}: ${run.result?.error.message}`,
        );
      },
    )(),
  );

  it(
    'a gzip stream inside the brotli stream',
    recorded(
      {
        suite: SUITE,
        case: 'a gzip stream inside the brotli stream',
        proves:
          "a second compression layer is refused, not handed to tar's parser, which would unpack it past the cap",
      },
      async (note) => {
        const inner = gzipSync(
          craftTar([...honest(), { path: 'app/zeros.bin', body: Buffer.alloc(2 * CAP) }]),
        );
        const { version, run } = await deployCrafted(brotliCompressSync(inner));
        await expectRefusedCleanly(
          version,
          run,
          'unsafe_archive',
          /a compressed stream inside the brotli stream/,
        );
        note(
          `${inner.length} bytes of gzip inside brotli, ${2 * CAP} bytes inside that; exit ${run.code}: ${run.result?.error.message}`,
        );
      },
    ),
  );

  it(
    'gzip bytes under a signed .tar.br name',
    recorded(
      {
        suite: SUITE,
        case: 'gzip bytes under a signed .tar.br name',
        proves:
          "the decompressor is the one the signed manifest's artifact.file names, never guessed from the bytes",
      },
      async (note) => {
        const files = fakeAppFiles();
        // An honest release in every other way; its inner manifest is never reached.
        const gzip = await packArtifact(innerManifest(FIXTURE_APP, '0.0.0', files), files, 'gzip');
        const { version, run } = await deployCrafted(gzip, 'brotli');
        await expectRefusedCleanly(version, run, 'unsafe_archive', /not a brotli archive/);
        note(`exit ${run.code}: ${run.result?.error.message}`);
      },
    ),
  );
});
