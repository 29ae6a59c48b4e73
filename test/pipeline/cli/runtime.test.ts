// The runtime through the real CLI: `ferry build --json` reports what publish will upload, publish says
// when a runtime is already in the registry, `ferry releases` shows each release's Node, and `ferry verify`
// fails (exit 5) on a manifest whose runtime pin was edited.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ExitCode } from '../../../pipeline/exit-codes';
import { LocalRegistry } from '../../../pipeline/registry/local';
import { releaseKeys, runtimeKey } from '../../../pipeline/release/layout';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';
import {
  NODE_22,
  requireTestRuntimes,
  runtimeFolder,
  TEST_FERRY_CACHE_DIR,
} from '../../support/node-runtimes';
import { describeIf } from '../../support/require-tool';
import { type FixtureApp, makeFixtureApp } from '../build/fixture-app';
import { ferry } from './run';

const key = generateSigningKeyPair();
let app: FixtureApp | undefined;
const env = () => ({
  FERRY_SIGNING_KEY: key.privateKeyPem.replace(/\n/g, '\\n'),
  SOURCE_DATE_EPOCH: '1700000000',
  FERRY_CACHE_DIR: TEST_FERRY_CACHE_DIR,
});

beforeAll(async () => {
  if (!requireTestRuntimes().available) return;
  app = await makeFixtureApp({
    publicKey: key.publicKey,
    runtime: { node: '^22', from: await runtimeFolder() },
  });
});
afterAll(() => app?.cleanup());

interface RuntimeJson {
  version: string;
  requested: string;
  source: string;
  artifacts: Record<
    string,
    { key: string; size: number; sha256: string; glibc: string; path: string; status?: string }
  >;
}

describeIf(requireTestRuntimes(), 'the runtime in the CLI', () => {
  let built: RuntimeJson;

  it('ferry build --json reports the resolved runtime it packed', async () => {
    const root = (app as FixtureApp).root;
    const r = await ferry(['build', '--version', '1.0.0', '--json'], { cwd: root, env: env() });
    expect(r.code, r.stderr).toBe(0);
    built = r.json<{ runtime: RuntimeJson }>().runtime;
    expect(built).toEqual({
      name: 'node',
      version: NODE_22,
      requested: '^22',
      source: expect.stringMatching(/^the folder /),
      artifacts: {
        x64: {
          key: expect.stringMatching(/^releases\/runtimes\/node-22\.23\.5-linux-x64-[0-9a-f]{12}\.tar\.gz$/),
          size: expect.any(Number),
          sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
          glibc: '2.28',
          path: expect.stringContaining(TEST_FERRY_CACHE_DIR),
        },
      },
    });
    expect(r.stderr).toContain(`runtime node ${NODE_22} (^22) for x64 from the folder`);
  });

  it('ferry publish uploads exactly that runtime, then not again for the next release', async () => {
    const root = (app as FixtureApp).root;
    const first = await ferry(['publish', '--version', '1.0.0', '--json'], { cwd: root, env: env() });
    expect(first.code, first.stderr).toBe(0);
    const runtime = first.json<{ runtime: RuntimeJson }>().runtime;
    const x64 = built.artifacts.x64;
    expect(runtime.artifacts.x64).toEqual({ ...x64, status: 'uploaded' });
    expect(first.stderr).toContain(`uploading runtime node-22.23.5-linux-x64 (${x64?.key})`);

    const second = await ferry(['publish', '--version', '1.1.0'], { cwd: root, env: env() });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('runtime node-22.23.5-linux-x64 already in the registry, not uploaded');
    expect(second.stdout).toMatch(/ {2}runtime {2}node 22\.23\.5 \(resolved from \^22\), from the folder /);
    expect(second.stdout).toMatch(
      /x64 +[0-9.]+ MiB +sha256 [0-9a-f]{12} +glibc >= 2\.28, already in the registry/,
    );
  });

  it('ferry releases shows the runtime of each release', async () => {
    const root = (app as FixtureApp).root;
    const json = await ferry(['releases', '--json'], { cwd: root, env: env() });
    expect(json.json<{ versions: { version: string; runtime?: string }[] }>().versions).toEqual([
      expect.objectContaining({ version: '1.1.0', runtime: NODE_22 }),
      expect.objectContaining({ version: '1.0.0', runtime: NODE_22 }),
    ]);
    const text = await ferry(['releases'], { cwd: root, env: env() });
    const [head, ...rows] = text.stdout.trim().split('\n');
    expect(head).toMatch(/^VERSION +PUBLISHED +SIZE +SHA256 +COMMIT +RUNTIME +ENVIRONMENTS$/);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/ node 22\.23\.5 +-$/);
  });

  it('ferry gc reports which releases use each runtime and, with --delete, removes only an orphan', async () => {
    const root = (app as FixtureApp).root;
    const registry = new LocalRegistry(join(root, '.ferry/registry'));
    const used = built.artifacts.x64?.key as string;
    const orphan = runtimeKey('releases', '20.20.2', 'x64', 'c'.repeat(64));
    await registry.put(orphan, Buffer.from('an old runtime no release names'));

    const report = await ferry(['gc', '--min-age', '0'], { cwd: root, env: env() });
    expect(report.code).toBe(0);
    const lines = report.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^RUNTIME +SIZE +UPLOADED +STATUS$/);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^node-22\.23\.5-linux-x64-[0-9a-f]{12}\.tar\.gz .* used by fixture 1\.0\.0, fixture 1\.1\.0$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^node-20\.20\.2-linux-x64-cccccccccccc\.tar\.gz .* unreferenced$/),
    );
    expect(lines.at(-1)).toBe('1 unreferenced runtime(s), 31 B: `ferry gc --delete` deletes them');
    expect(await registry.head(orphan)).not.toBeNull();

    const young = await ferry(['gc', '--delete'], { cwd: root, env: env() });
    expect(young.stdout).toMatch(/unreferenced, kept: younger than 24h/);
    expect(await registry.head(orphan)).not.toBeNull();

    const del = await ferry(['gc', '--delete', '--min-age', '0', '--json'], { cwd: root, env: env() });
    expect(del.json<{ deleted: string[] }>().deleted).toEqual([orphan]);
    expect(await registry.head(orphan)).toBeNull();
    expect(await registry.head(used)).not.toBeNull();
    expect((await ferry(['gc', '--min-age', 'soon'], { cwd: root, env: env() })).code).toBe(ExitCode.Usage);
  });

  it('ferry verify fails (exit 5) when the runtime sha256 in a published manifest is edited', async () => {
    const root = (app as FixtureApp).root;
    const registry = new LocalRegistry(join(root, '.ferry/registry'));
    const keys = releaseKeys('releases', 'fixture', '1.1.0');
    expect((await ferry(['verify', '1.1.0'], { cwd: root, env: env() })).code).toBe(ExitCode.Ok);

    const original = (await registry.get(keys.manifest)) as Buffer;
    const sha = built.artifacts.x64?.sha256 as string;
    const edited = original.toString().replace(sha, `${sha.startsWith('f') ? '0' : 'f'}${sha.slice(1)}`);
    expect(edited).not.toBe(original.toString());
    await registry.put(keys.manifest, Buffer.from(edited));
    const r = await ferry(['verify', '1.1.0'], { cwd: root, env: env() });
    expect(r.code).toBe(ExitCode.Verification);
    expect(r.stderr).toMatch(/verification failed: fixture 1\.1\.0: .*signature/);
  });
});
