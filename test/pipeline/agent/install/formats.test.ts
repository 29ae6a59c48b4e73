// Both artifact compressions on one host: a release published before brotli (<app>-<version>.tar.gz) still
// deploys and is rolled back to, next to the .tar.br releases `ferry build` writes now. The agent takes
// the compression from the signed manifest's artifact.file. Tests run in order and share the host.
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deployArgs,
  destroyHost,
  makeHost,
  runAgent,
  servedVersion,
  type TestHost,
} from '../../../fixtures/agent-host';
import { type RegistryServer, startRegistryServer } from '../../../fixtures/registry-server';
import {
  fakeAppFiles,
  newSigningKey,
  type Published,
  publishFakeApp,
  type SigningKey,
} from '../../../fixtures/releases';

let key: SigningKey;
let regDir: string;
let reg: RegistryServer;
let host: TestHost;
let gzip: Published;
let brotli: Published;
let gzipAgain: Published;

const agent = (...args: string[]) =>
  runAgent([...args.slice(0, 1), '--root', host.root, '--who', 'tester@vitest', ...args.slice(1)]);

beforeAll(async () => {
  key = newSigningKey();
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
  host = await makeHost(key.publicKey);
  gzip = await publishFakeApp(regDir, key, '1.0.0', 'ok', undefined, undefined, 'gzip');
  brotli = await publishFakeApp(regDir, key, '2.0.0');
  gzipAgain = await publishFakeApp(regDir, key, '3.0.0', 'ok', undefined, undefined, 'gzip');
});

afterAll(async () => {
  if (host) await destroyHost(host);
  await reg?.close();
  if (regDir) await rm(regDir, { recursive: true, force: true });
});

/** The release's files on disk are the fake app's, byte for byte. */
async function expectInstalled(version: string) {
  for (const [path, bytes] of Object.entries(fakeAppFiles())) {
    expect((await readFile(join(host.paths.releases, version, path))).equals(bytes), path).toBe(true);
  }
}

describe.sequential('a host given .tar.gz and .tar.br releases', () => {
  it('deploys a release published as .tar.gz', async () => {
    expect(gzip.keys.artifact).toMatch(/\/storage-1\.0\.0\.tar\.gz$/);
    const run = await runAgent(deployArgs(host, reg, gzip));
    expect(run.result, run.stderr).toMatchObject({ ok: true, version: '1.0.0' });
    expect(reg.hits(gzip.keys.artifact)).toBe(1);
    await expectInstalled('1.0.0');
    expect(await servedVersion(host.port)).toBe('1.0.0');
    expect(await readdir(host.paths.tmp)).toEqual([]);
  });

  it('then a .tar.br release', async () => {
    expect(brotli.keys.artifact).toMatch(/\/storage-2\.0\.0\.tar\.br$/);
    // The same files, so only the compression differs between the two artifacts.
    const raw = await readFile(join(regDir, brotli.keys.artifact));
    expect(raw.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(false);
    const run = await runAgent(deployArgs(host, reg, brotli));
    expect(run.result, run.stderr).toMatchObject({ ok: true, version: '2.0.0', previous: '1.0.0' });
    await expectInstalled('2.0.0');
    expect(await servedVersion(host.port)).toBe('2.0.0');
    expect(await readdir(host.paths.tmp)).toEqual([]);
  });

  it('rolls back from the .tar.br release to the .tar.gz one without downloading', async () => {
    const run = await agent('rollback');
    expect(run.result, run.stderr).toMatchObject({ ok: true, op: 'rollback', version: '1.0.0' });
    expect(reg.hits(gzip.keys.artifact)).toBe(1);
    expect(await readlink(host.paths.current)).toBe('releases/1.0.0');
    expect(await servedVersion(host.port)).toBe('1.0.0');
  });

  it('deploys a .tar.gz release after a .tar.br one', async () => {
    const run = await runAgent(deployArgs(host, reg, gzipAgain));
    expect(run.result, run.stderr).toMatchObject({ ok: true, version: '3.0.0', previous: '1.0.0' });
    await expectInstalled('3.0.0');
    expect(await servedVersion(host.port)).toBe('3.0.0');
  });
});
