// The commands end to end through main(): keygen, token, build + publish + releases + verify against the
// local registry and the OSS-protocol server.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createTokenVerifier } from '../../../app/auth/tokens';
import { formatBytes } from '../../../pipeline/cli/io';
import { loadConfig } from '../../../pipeline/config/load';
import { writeEnvRecord } from '../../../pipeline/registry/env-record';
import { LocalRegistry } from '../../../pipeline/registry/local';
import { generateSigningKeyPair, keyIdOf, loadPrivateKey } from '../../../pipeline/release/signing';
import { PEM_BEGIN, PEM_END } from '../../fixtures/fake-credentials';
import { artifactKeyOf } from '../../fixtures/releases';
import { type OssServer, startOssServer } from '../../support/oss-server/index';
import { type FixtureApp, makeFixtureApp } from '../build/fixture-app';
import { syntheticArtifact } from '../publish/synthetic';
import { ferry } from './run';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-cmd-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('ferry keygen', () => {
  it('writes the private key with mode 0600 and prints the public key line', async () => {
    const out = join(dir, 'keys');
    const r = await ferry(['keygen', '--out', out], { cwd: dir });
    expect(r.code).toBe(0);
    const publicKey = /publicKey: (ed25519:\S+)/.exec(r.stdout)?.[1] as string;
    const file = join(out, `signing-${keyIdOf(publicKey)}.pem`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(loadPrivateKey(await readFile(file, 'utf8')).publicKey).toBe(publicKey);
    expect(r.stdout).not.toContain('PRIVATE KEY');
  });

  it('prints the private key only when asked, on stdout alone', async () => {
    const r = await ferry(['keygen', '--print-private'], { cwd: dir });
    expect(r.stdout).toMatch(new RegExp(`^${PEM_BEGIN}\\n[\\s\\S]+${PEM_END}\\n$`));
    expect(r.stderr).toContain('publicKey: ed25519:');
    const j = await ferry(['keygen', '--print-private', '--json'], { cwd: dir });
    expect(j.json()).toMatchObject({
      ok: true,
      privateKeyFile: null,
      privateKeyPem: expect.stringContaining('PRIVATE KEY'),
    });
  });

  it('refuses to write inside a git work tree unless the path is ignored', async () => {
    const repo = join(dir, 'repo');
    spawnSync('git', ['init', '-q', repo]);
    const r = await ferry(['keygen', '--out', join(repo, 'keys')], { cwd: repo });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing to write a private key inside a git work tree/);
    await writeFile(join(repo, '.gitignore'), '*.pem\n');
    expect((await ferry(['keygen', '--out', join(repo, 'keys')], { cwd: repo })).code).toBe(0);
  });
});

describe('ferry token', () => {
  it('mints a token the service accepts', async () => {
    const secret = 's'.repeat(40);
    const r = await ferry(['token', '--user', 'alice', '--scopes', 'read,write', '--ttl', '60'], {
      env: { AUTH_SECRET: secret },
    });
    expect(r.code).toBe(0);
    const principal = await createTokenVerifier(secret)(r.stdout.trim());
    expect(principal.userId).toBe('alice');
    expect([...principal.scopes].sort()).toEqual(['read', 'write']);
  });

  it('needs AUTH_SECRET (exit 3) and valid scopes (exit 2)', async () => {
    expect((await ferry(['token', '--user', 'alice'])).code).toBe(3);
    expect(
      (
        await ferry(['token', '--user', 'alice', '--scopes', 'root'], {
          env: { AUTH_SECRET: 'x'.repeat(40) },
        })
      ).code,
    ).toBe(2);
  });
});

describe('build, publish, releases, verify with the local registry', () => {
  const key = generateSigningKeyPair();
  let app: FixtureApp;
  beforeAll(async () => {
    app = await makeFixtureApp({ publicKey: key.publicKey });
  });
  afterAll(() => app.cleanup());
  const env = () => ({
    FERRY_SIGNING_KEY: key.privateKeyPem.replace(/\n/g, '\\n'),
    SOURCE_DATE_EPOCH: '1700000000',
  });

  it('publish builds, signs and uploads; releases lists it with its environments', async () => {
    const p = await ferry(['publish', '--version', '3.0.0', '--json'], { cwd: app.root, env: env() });
    // --json: stdout holds only the JSON document; the story goes to stderr, in upload order.
    const sha = p.json<{ sha256: string }>().sha256;
    expect(p.stderr.split('\n').map((l) => l.replace(/\(.*\)$/, '(…)'))).toEqual([
      'bundling app/server.ts with ncc',
      'built dist/fixture-3.0.0.tar.br (…)',
      'uploading releases/fixture/3.0.0/fixture-3.0.0.tar.br',
      'uploading releases/fixture/3.0.0/fixture-3.0.0.js.map.gz',
      'uploading releases/fixture/3.0.0/manifest.json.sig',
      'uploading releases/fixture/3.0.0/manifest.json',
      'updating the index',
      `published fixture 3.0.0 to ${join(app.root, '.ferry/registry')}`,
      '  artifact  releases/fixture/3.0.0/fixture-3.0.0.tar.br',
      `  size      ${formatBytes(p.json<{ size: number }>().size)} (…)`,
      `  sha256    ${sha}`,
      '',
    ]);
    expect(p.code).toBe(0);
    expect(p.json()).toMatchObject({ ok: true, status: 'published', version: '3.0.0' });

    const again = await ferry(['publish', '--artifact', 'dist/fixture-3.0.0.tar.br'], {
      cwd: app.root,
      env: env(),
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('unchanged fixture 3.0.0');

    const registry = new LocalRegistry(join(app.root, '.ferry/registry'));
    await writeEnvRecord(registry, 'releases', 'fixture', {
      env: 'production',
      version: '3.0.0',
      updatedAt: 'now',
      by: 't',
    });
    const list = await ferry(['releases', '--json'], { cwd: app.root });
    expect(list.code).toBe(0);
    expect(list.json()).toMatchObject({
      ok: true,
      app: 'fixture',
      versions: [
        { version: '3.0.0', sha256: p.json<{ sha256: string }>().sha256, environments: ['production'] },
      ],
    });
    const table = await ferry(['releases'], { cwd: app.root });
    expect(table.stdout.split('\n')[0]).toMatch(/^VERSION +PUBLISHED +SIZE +SHA256 +COMMIT +ENVIRONMENTS$/);
    expect(table.stdout.split('\n')[1]).toMatch(/^3\.0\.0 {4}\d{4}-\d\d-\d\d \d\d:\d\d UTC .* production$/);

    const v = await ferry(['verify', '--json'], { cwd: app.root });
    expect(v.json()).toEqual({ ok: true, version: '3.0.0' });
  });

  it('exits 1 for a conflicting version and 5 when the registry copy was tampered with', async () => {
    const other = await syntheticArtifact(join(dir, 'conflict'), { version: '3.0.0' });
    const c = await ferry(['publish', '--artifact', other], { cwd: app.root, env: env() });
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/^error: version 3\.0\.0 is already published with different contents/);

    const file = join(app.root, '.ferry/registry', artifactKeyOf('releases', 'fixture', '3.0.0'));
    const bytes = await readFile(file);
    bytes[100] = (bytes[100] as number) ^ 0xff;
    await writeFile(file, bytes);
    const v = await ferry(['verify', '3.0.0'], { cwd: app.root });
    expect(v.code).toBe(5);
    expect(v.stderr).toMatch(/verification failed: fixture 3\.0\.0: artifact sha256 mismatch/);
  });

  it('needs a signing key (exit 3) before building anything', async () => {
    const r = await ferry(['publish'], { cwd: app.root });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error: no signing key: set FERRY_SIGNING_KEY or FERRY_SIGNING_KEY_FILE');
  });
});

describe('publish and releases with the OSS registry', () => {
  const key = generateSigningKeyPair();
  let oss: OssServer;
  let root: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    oss = await startOssServer();
    root = await mkdtemp(join(tmpdir(), 'ferry-cmd-oss-'));
    await writeFile(
      join(root, 'releases.yaml'),
      stringify({
        app: { name: 'fixture', entry: 'app/server.ts' },
        registry: {
          type: 'oss',
          bucket: oss.bucket,
          region: 'oss-cn-hangzhou',
          prefix: 'ferry/releases',
          endpoint: oss.endpoints.public,
          internalEndpoint: oss.endpoints.internal,
          cname: true,
        },
        signing: { publicKey: key.publicKey },
      }),
    );
    env = {
      OSS_ACCESS_KEY_ID: oss.accessKeyId,
      OSS_ACCESS_KEY_SECRET: oss.accessKeySecret,
      FERRY_SIGNING_KEY_FILE: join(root, 'key.pem'),
    };
    await writeFile(join(root, 'key.pem'), key.privateKeyPem, { mode: 0o600 });
  });
  afterAll(async () => {
    await oss.close();
    await rm(root, { recursive: true, force: true });
  });

  it('publishes through the public endpoint and lists newest first', async () => {
    for (const version of ['1.0.0', '1.1.0']) {
      const artifact = await syntheticArtifact(join(root, 'dist'), { version });
      const r = await ferry(['publish', '--artifact', artifact, '--multipart-threshold', '1KiB'], {
        cwd: root,
        env,
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`published fixture ${version} to oss://${oss.bucket}/ferry/releases`);
      // Not a terminal: progress is a few plain lines, not a redrawn bar.
      expect(r.stderr).toMatch(/^upload: 0% \(0 B of .*\)\nupload: 100% \(/m);
    }
    expect(oss.stats().internal?.requests).toBe(0);
    const list = await ferry(['releases', '--json'], { cwd: root, env });
    expect(
      list.json<{ versions: { version: string; environments: string[] }[] }>().versions.map((v) => v.version),
    ).toEqual(['1.1.0', '1.0.0']);
    expect((await ferry(['verify', '1.0.0'], { cwd: root, env })).code).toBe(0);
    expect(loadConfig({ cwd: root, env: {} }).registry.type).toBe('oss');
  });

  it('names the missing OSS variables (exit 3)', async () => {
    const r = await ferry(['releases'], { cwd: root, env: { OSS_ACCESS_KEY_ID: 'x' } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('OSS_ACCESS_KEY_SECRET not set');
  });
});
