// A host that cannot run the Node a release pins is refused by `ferry setup` with one message naming what
// it found and what is needed, and nothing on it is created or changed. Here: a release shipped for arm64
// only (a real arm64 Node build), set up on this x64 machine.
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';
import { freePort } from '../../fixtures/agent-host';
import { fakeAppSource } from '../../fixtures/fake-app';
import { runtimeYaml } from '../../support/config-yaml';
import {
  NODE_22,
  requireTestRuntimes,
  runtimeFolder,
  TEST_FERRY_CACHE_DIR,
} from '../../support/node-runtimes';
import { describeIf } from '../../support/require-tool';
import { runFerry } from '../../support/run-ferry';

const ARM = [{ version: NODE_22, arch: 'arm64' as const }];

describeIf(requireTestRuntimes(ARM), 'setup on a host that cannot run the pinned Node', () => {
  let dir: string;
  let config: string;
  let env: Record<string, string | undefined>;
  const ferry = (...argv: string[]) => runFerry(config, argv, { env, cwd: dir });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-unfit-'));
    const keys = generateSigningKeyPair();
    await writeFile(join(dir, 'app.mjs'), fakeAppSource('ok'));
    config = join(dir, 'releases.yaml');
    await writeFile(
      config,
      `app:
  name: unfit
  entry: app.mjs
${runtimeYaml(NODE_22, await runtimeFolder(ARM), ['arm64'])}registry:
  type: local
signing:
  publicKey: ${keys.publicKey}
environments:
  local:
    transport: local
    path: hosts
    hosts:
      - { name: h1, appPort: ${await freePort()} }
`,
    );
    env = {
      PATH: process.env.PATH,
      HOME: dir,
      FERRY_CACHE_DIR: TEST_FERRY_CACHE_DIR,
      FERRY_SIGNING_KEY: keys.privateKeyPem,
    };
    const pub = await ferry('publish', '--version', '1.0.0');
    expect(pub.code, pub.stdout + pub.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses it, naming what it found and what is needed, and creates nothing', async () => {
    const r = await ferry('setup', 'local');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `h1  FAILED: this host cannot run Node ${NODE_22} (from 1.0.0); nothing was changed: the host is x64 (x86_64); this release ships Node ${NODE_22} for arm64 only: add x64 to app.runtime.arch and publish again`,
    );
    await expect(stat(join(dir, 'hosts', 'h1'))).rejects.toThrow();
    expect(await readdir(dir)).not.toContain('hosts');
  });
});
