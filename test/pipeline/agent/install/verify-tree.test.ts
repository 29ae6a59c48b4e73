// Every way an unpacked release can differ from its signed manifest, once the artifact itself passed its
// size and sha256 check: a listed file missing, a file of another size, a file of the same size with
// other bytes, and the release's own manifest.json describing another release. Each is caught by
// verifyTree, both on its own and through a real deploy, which refuses with release_mismatch (exit 5)
// before the switch, leaves 1.0.0 serving and removes staging and the download.
import { mkdir, mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTree } from '../../../../pipeline/agent/install/releases';
import { ExitCode } from '../../../../pipeline/exit-codes';
import { type ReleaseManifest, serializeManifest } from '../../../../pipeline/release/manifest';
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
  FIXTURE_APP,
  fakeAppFiles,
  innerManifest,
  newSigningKey,
  packArtifact,
  publish,
  publishFakeApp,
  type SigningKey,
} from '../../../fixtures/releases';

const files = () => ({ ...fakeAppFiles(), 'app/extra.js': Buffer.from('export const extra = 1;\n') });

interface TreeCase {
  name: string;
  /** What the artifact holds, given the files and manifest the registry signs. */
  tamper(
    signed: ReleaseManifest,
    f: Record<string, Buffer>,
  ): { inner: ReleaseManifest; files: Record<string, Buffer> };
  problem: RegExp;
}

const CASES: TreeCase[] = [
  {
    name: 'a listed file missing',
    tamper: (signed, f) => {
      const { 'app/extra.js': _gone, ...rest } = f;
      return { inner: signed, files: rest };
    },
    problem: /^missing file app\/extra\.js$/,
  },
  {
    name: 'a file of another size',
    tamper: (signed, f) => ({
      inner: signed,
      files: { ...f, 'app/extra.js': Buffer.from('export const extra = 12;\n') },
    }),
    problem: /^app\/extra\.js has 25 bytes, the manifest says 24$/,
  },
  {
    name: 'a file of the same size with other bytes',
    tamper: (signed, f) => ({
      inner: signed,
      files: { ...f, 'app/extra.js': Buffer.from('export const extra = 2;\n') },
    }),
    problem: /^app\/extra\.js does not match its sha256 in the manifest$/,
  },
  {
    name: "the release's own manifest.json naming another version",
    tamper: (signed, f) => ({ inner: { ...signed, version: '9.9.9' }, files: f }),
    problem: /^the release's own manifest\.json describes storage@9\.9\.9, not storage@/,
  },
  {
    name: "the release's own manifest.json listing other files",
    tamper: (signed, f) => ({
      inner: { ...signed, files: signed.files.filter((x) => x.path !== 'app/extra.js') },
      files: f,
    }),
    problem: /^the release's own manifest\.json lists different files$/,
  },
];

describe('verifyTree on an unpacked tree', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-tree-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const lay = async (name: string, inner: ReleaseManifest, f: Record<string, Buffer>) => {
    const root = join(dir, name.replace(/\W+/g, '-'));
    for (const [path, bytes] of Object.entries(f)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), bytes);
    }
    await writeFile(join(root, 'manifest.json'), serializeManifest(inner));
    return root;
  };

  it('accepts the tree the manifest describes', async () => {
    const signed = innerManifest(FIXTURE_APP, '2.0.0', files());
    expect(await verifyTree(await lay('honest', signed, files()), signed)).toBeNull();
  });

  it.each(CASES)('names $name', async (c) => {
    const signed = innerManifest(FIXTURE_APP, '2.0.0', files());
    const t = c.tamper(signed, files());
    expect(await verifyTree(await lay(c.name, t.inner, t.files), signed)).toMatch(c.problem);
  });
});

describe('agent deploy of a signed artifact whose files differ from its manifest', () => {
  let key: SigningKey;
  let regDir: string;
  let reg: RegistryServer;
  let host: TestHost;
  let serial = 0;

  beforeAll(async () => {
    key = newSigningKey();
    regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
    reg = await startRegistryServer(regDir);
    host = await makeHost(key.publicKey);
    const run = await runAgent(deployArgs(host, reg, await publishFakeApp(regDir, key, '1.0.0')));
    expect(run.result?.ok, run.stderr).toBe(true);
  });
  afterAll(async () => {
    await destroyHost(host);
    await reg.close();
    await rm(regDir, { recursive: true, force: true });
  });

  it.each(CASES)('$name: refused as release_mismatch before the switch, nothing left', async (c) => {
    const version = `2.0.${serial++}`;
    const signed = innerManifest(FIXTURE_APP, version, files());
    const t = c.tamper(signed, files());
    // The registry signs `signed` (with the artifact's real size and sha256): only the tree differs.
    const rel = await publish(regDir, key, {
      version,
      artifact: await packArtifact(t.inner, t.files),
      manifest: signed,
    });
    const run = await runAgent(deployArgs(host, reg, rel));
    expect(run.code, run.stderr).toBe(ExitCode.Verification);
    expect(run.result).toMatchObject({
      ok: false,
      rolledBack: false,
      error: { code: 'release_mismatch', step: 'unpack' },
    });
    const problem = String(run.result?.error.message).replace(
      /^the unpacked release does not match its manifest: /,
      '',
    );
    expect(problem).toMatch(c.problem);
    expect(run.events.map((e) => e.step)).not.toContain('switch');
    expect(await readlink(host.paths.current)).toBe('releases/1.0.0');
    expect(await servedVersion(host.port)).toBe('1.0.0');
    expect(await readdir(host.paths.releases)).toEqual(['1.0.0']);
    expect(await readdir(host.paths.tmp)).toEqual([]);
  });
});
