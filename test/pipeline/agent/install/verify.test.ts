// Tampered releases are refused before the switch, with the reason, while the running release keeps
// serving and no debris stays behind. The signature is checked before the artifact is even fetched.
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../../pipeline/exit-codes';
import { releaseKeys } from '../../../../pipeline/release/layout';
import { type ReleaseManifest, serializeManifest } from '../../../../pipeline/release/manifest';
import { serializeSignature, signBytes } from '../../../../pipeline/release/signing';
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
  innerManifest,
  newSigningKey,
  type Published,
  packArtifact,
  publish,
  publishFakeApp,
  type SigningKey,
} from '../../../fixtures/releases';
import { craftTarBr } from '../../../fixtures/tar-craft';

let key: SigningKey;
let regDir: string;
let reg: RegistryServer;
let host: TestHost;

beforeAll(async () => {
  key = newSigningKey();
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
  host = await makeHost(key.publicKey);
  const v1 = await publishFakeApp(regDir, key, '1.0.0');
  const run = await runAgent(deployArgs(host, reg, v1));
  expect(run.result?.ok, run.stderr).toBe(true);
});

afterAll(async () => {
  await destroyHost(host);
  await reg.close();
  await rm(regDir, { recursive: true, force: true });
});

/** Deploys and expects a refusal before the switch: 1.0.0 still current and serving, nothing left over. */
async function expectRefused(
  rel: Published,
  code: string,
  reason: RegExp,
  exit: number = ExitCode.Verification,
) {
  const run = await runAgent(deployArgs(host, reg, rel));
  expect(run.code, run.stderr).toBe(exit);
  expect(run.result).toMatchObject({ ok: false, rolledBack: false, error: { code } });
  expect(run.result?.error.message).toMatch(reason);
  expect(run.events.map((e) => e.step)).not.toContain('switch');
  expect(await readlink(host.paths.current)).toBe('releases/1.0.0');
  expect(await servedVersion(host.port)).toBe('1.0.0');
  expect(await readdir(host.paths.releases)).toEqual(['1.0.0']);
  expect(await readdir(host.paths.tmp)).toEqual([]);
  const history = (await readFile(host.paths.history, 'utf8')).trim().split('\n');
  expect(JSON.parse(history.at(-1) as string)).toMatchObject({
    op: 'deploy',
    version: rel.version,
    result: 'failed',
  });
  return run;
}

describe('agent deploy refuses tampered releases', () => {
  it('an artifact with one flipped bit (after downloading it)', async () => {
    const rel = await publishFakeApp(regDir, key, '2.0.0');
    const path = join(regDir, rel.keys.artifact);
    const bytes = await readFile(path);
    const at = bytes.length >> 1;
    bytes[at] = (bytes[at] as number) ^ 0x01;
    await writeFile(path, bytes);
    await expectRefused(rel, 'artifact_mismatch', /does not match the signed manifest/);
  });

  it('an edited manifest, without downloading the artifact', async () => {
    const rel = await publishFakeApp(regDir, key, '2.0.1');
    const path = join(regDir, rel.keys.manifest);
    await writeFile(path, (await readFile(path, 'utf8')).replace('"node": ">=20"', '"node": ">=18"'));
    await expectRefused(rel, 'bad_signature', /edited or corrupted/);
    expect(reg.hits(rel.keys.artifact)).toBe(0);
  });

  it('a release signed by another key', async () => {
    const rel = await publishFakeApp(regDir, newSigningKey(), '2.0.2');
    await expectRefused(rel, 'bad_signature', /signed by another key/);
    expect(reg.hits(rel.keys.artifact)).toBe(0);
  });

  it('a release without a signature', async () => {
    const files = fakeAppFiles();
    const manifest = innerManifest('storage', '2.0.3', files);
    const rel = await publish(regDir, key, {
      version: '2.0.3',
      artifact: await packArtifact(manifest, files),
      manifest,
      sign: false,
    });
    await expectRefused(rel, 'bad_signature', /signature missing/);
  });

  it("an older release's signed manifest served as a newer version", async () => {
    const old = releaseKeys('releases', 'storage', '1.0.0');
    const rel = await publishFakeApp(regDir, key, '9.0.0');
    // Replay: 1.0.0's genuine manifest and signature under 9.0.0's keys.
    await copyFile(join(regDir, old.manifest), join(regDir, rel.keys.manifest));
    await copyFile(join(regDir, old.signature), join(regDir, rel.keys.signature));
    await expectRefused(rel, 'version_mismatch', /signed manifest is for 1\.0\.0, not 9\.0\.0/);
  });

  it("another app's release", async () => {
    const rel = await publishFakeApp(regDir, key, '2.0.4', 'ok', 'billing');
    await expectRefused(rel, 'name_mismatch', /for app "billing"/);
  });

  it('a signed archive holding a ".." entry, writing nothing outside its staging directory', async () => {
    const files = fakeAppFiles();
    const manifest = innerManifest('storage', '2.0.5', files);
    const artifact = craftTarBr([
      { path: 'manifest.json', body: '{}' },
      { path: '../../../escaped.txt', body: 'pwned' },
    ]);
    const rel = await publish(regDir, key, { version: '2.0.5', artifact, manifest });
    await expectRefused(rel, 'unsafe_archive', /climbs out/);
    for (const dir of [host.root, host.paths.ferry, dirname(host.root)]) {
      await expect(readFile(join(dir, 'escaped.txt'))).rejects.toThrow();
    }
  });

  it('a signed archive whose files differ from its manifest', async () => {
    const files = fakeAppFiles();
    const manifest = innerManifest('storage', '2.0.6', files);
    const artifact = await packArtifact(manifest, {
      ...files,
      'app/extra.js': Buffer.from('// not listed\n'),
    });
    const rel = await publish(regDir, key, { version: '2.0.6', artifact, manifest });
    await expectRefused(rel, 'release_mismatch', /unexpected file app\/extra\.js/);
  });

  it('gzip bytes under a signed .tar.br name: unpacked as the name says, so refused, never sniffed', async () => {
    const files = fakeAppFiles();
    const manifest = innerManifest('storage', '2.0.9', files);
    const gzip = await packArtifact(manifest, files, 'gzip');
    const rel = await publish(regDir, key, { version: '2.0.9', artifact: gzip, manifest, format: 'brotli' });
    expect(rel.manifest.artifact?.file).toBe('storage-2.0.9.tar.br');
    await expectRefused(rel, 'unsafe_archive', /not a brotli archive/);
  });

  it('a signed manifest naming an artifact neither .tar.br nor .tar.gz, without downloading it', async () => {
    const rel = await publishFakeApp(regDir, key, '2.0.10');
    const path = join(regDir, rel.keys.manifest);
    const m = JSON.parse(await readFile(path, 'utf8')) as ReleaseManifest;
    const bytes = serializeManifest({
      ...m,
      artifact: {
        ...(m.artifact as NonNullable<ReleaseManifest['artifact']>),
        file: 'storage-2.0.10.tar.zst',
      },
    });
    await writeFile(path, bytes);
    await writeFile(
      join(regDir, rel.keys.signature),
      serializeSignature(signBytes(bytes, key.privateKeyPem)),
    );
    const run = await expectRefused(
      rel,
      'manifest_invalid',
      /names the artifact storage-2\.0\.10\.tar\.zst: this agent unpacks \.tar\.br and \.tar\.gz only/,
    );
    expect(run.result?.error.step).toBe('verify');
    expect(reg.hits(rel.keys.artifact)).toBe(0);
  });

  it('a bad version string as a usage error, before touching anything', async () => {
    const rel = await publishFakeApp(regDir, key, '2.0.7');
    const run = await runAgent(deployArgs(host, reg, { ...rel, version: '../etc' }));
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.result?.error.code).toBe('usage');
  });

  it('a host without trusted.pub as a config error', async () => {
    const rel = await publishFakeApp(regDir, key, '2.0.8');
    const trusted = await readFile(host.paths.trustedKey);
    await rm(host.paths.trustedKey);
    try {
      const run = await runAgent(deployArgs(host, reg, rel));
      expect(run.code).toBe(ExitCode.Config);
      expect(run.result?.error).toMatchObject({ code: 'config' });
      expect(run.result?.error.remedy).toContain('ferry setup');
    } finally {
      await mkdir(host.paths.ferry, { recursive: true });
      await writeFile(host.paths.trustedKey, trusted);
    }
  });
  // Last: this one switches the host to 2.1.0.
  it('replaces a corrupted copy of the release already on disk instead of reusing it', async () => {
    const rel = await publishFakeApp(regDir, key, '2.1.0');
    const first = await runAgent(deployArgs(host, reg, rel));
    expect(first.result, first.stderr).toMatchObject({ ok: true, reused: false });
    const again = await runAgent(deployArgs(host, reg, rel));
    expect(again.result).toMatchObject({ ok: true, reused: true });
    expect(reg.hits(rel.keys.artifact)).toBe(1);

    const file = join(host.paths.releases, '2.1.0', 'app', 'index.js');
    await chmod(file, 0o644);
    await writeFile(file, '// tampered on disk\n');
    const repaired = await runAgent(deployArgs(host, reg, rel));
    expect(repaired.result, repaired.stderr).toMatchObject({ ok: true, reused: false });
    expect(reg.hits(rel.keys.artifact)).toBe(2);
    expect(await readFile(file, 'utf8')).toContain('fixture app');
    expect(await servedVersion(host.port)).toBe('2.1.0');
    expect(await readdir(host.paths.tmp)).toEqual([]);
  });
});
