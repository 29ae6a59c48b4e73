// Host hooks over real SSH: 2 sshd hosts (a non-root deploy user each), the strict OSS-protocol server as
// the registry, driven through the CLI's main(). beforeSwitch runs on each host as the deploy user, in
// the new release's directory, with that host's shared/.env; a `once` hook runs on the canary only; a
// failing one stops the canary before its switch and the rollout with it.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ExitCode } from '../../../pipeline/exit-codes';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';
import { REPO } from '../../fixtures/agent-host';
import { FIXTURE_APP, fakeAppFiles, innerManifest, packArtifact } from '../../fixtures/releases';
import { fleetHostsYaml, ossRegistryYaml } from '../../support/config-yaml';
import { type OssServer, startOssServer } from '../../support/oss-server';
import { describeIf, requireRoot, requireTool } from '../../support/require-tool';
import { runFerry } from '../../support/run-ferry';
import { type Fleet, startFleet } from '../../support/ssh-fleet';

const PORT_BASE = 43_100 + (process.pid % 200) * 2;

describeIf(
  [requireTool('/usr/sbin/sshd', 'openssh-server'), requireRoot('creates the fleet user and runs sshd')],
  'hooks on 2 sshd hosts',
  () => {
    let fleet: Fleet;
    let oss: OssServer;
    let dir: string;
    let configFile: string;
    let baseConfig: string;
    let env: Record<string, string | undefined>;
    const ports = [PORT_BASE, PORT_BASE + 1];

    const ferry = (...argv: string[]) => runFerry(configFile, argv, { env, cwd: dir });
    const publish = async (version: string) => {
      const files = fakeAppFiles('ok');
      const file = join(dir, `${FIXTURE_APP}-${version}.tar.br`);
      await writeFile(file, await packArtifact(innerManifest(FIXTURE_APP, version, files), files));
      const r = await ferry('publish', '--artifact', file);
      expect(r.code, r.stderr).toBe(0);
    };
    const versionOn = async (port: number) => {
      const res = await fetch(`http://127.0.0.1:${port}/version`).catch(() => null);
      return res?.ok ? ((await res.json()) as { version: string }).version : null;
    };
    const hostFile = (i: number, ...p: string[]) =>
      readFile(join(fleet.hosts[i]!.root, ...p), 'utf8').catch(() => null);

    beforeAll(async () => {
      [fleet, oss] = await Promise.all([startFleet({ count: 2 }), startOssServer({ bucket: 'ferry-hooks' })]);
      dir = await mkdtemp(join(tmpdir(), 'ferry-hooks-ssh-'));
      const keys = generateSigningKeyPair();
      configFile = join(dir, 'releases.yaml');
      baseConfig = `app:
  name: ${FIXTURE_APP}
  entry: ${join(REPO, 'app', 'server.ts')}
${ossRegistryYaml(oss)}signing:
  publicKey: ${keys.publicKey}
environments:
  fleet:
    transport: ssh
    user: ${fleet.user}
    path: /nonexistent
    batch: 1
    lockTtlSeconds: 120
    health:
      timeoutSeconds: 8
      intervalMs: 100
    service:
      mode: process
      workers: 1
      bind: 127.0.0.1
${fleetHostsYaml(fleet, ports)}`;
      await writeFile(configFile, baseConfig);
      env = {
        PATH: process.env.PATH,
        HOME: dir,
        FERRY_WHO: 'hooks@test',
        FERRY_SSH_KEY: await readFile(fleet.privateKeyPath, 'utf8'),
        FERRY_SIGNING_KEY: keys.privateKeyPem,
        OSS_ACCESS_KEY_ID: oss.accessKeyId,
        OSS_ACCESS_KEY_SECRET: oss.accessKeySecret,
      };
      await mkdir(join(dir, 'dist'), { recursive: true });
      for (const v of ['1.0.0', '2.0.0', '3.0.0']) await publish(v);
      const secrets = join(dir, 'host.env');
      await writeFile(secrets, 'DATABASE_URL=postgres://db.internal/shop\n');
      const setup = await ferry('setup', 'fleet', '--env-file', secrets);
      expect(setup.code, setup.stdout + setup.stderr).toBe(0);
      const first = await ferry('deploy', 'fleet', '--version', '1.0.0');
      expect(first.code, first.stdout + first.stderr).toBe(0);
    }, 240_000);

    afterAll(async () => {
      await fleet?.stop(); // also kills the supervisors under the fleet's folders
      await oss?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('runs beforeSwitch as the deploy user in the release, with shared/.env; the once hook on the canary only', async () => {
      await writeFile(
        configFile,
        `${baseConfig}hooks:
  beforeSwitch:
    - run: echo "$(id -un) $FERRY_RELEASE $DATABASE_URL" > data/migrated.txt; echo "migrations applied"
      once: true
      timeoutSeconds: 30
    - run: echo "$(pwd) $(readlink ../../current) $(node -p process.version)" > data/warmed.txt
      timeoutSeconds: 30
`,
      );
      const r = await ferry('deploy', 'fleet', '--version', '2.0.0');
      expect(r.code, r.stdout + r.stderr).toBe(0);
      for (const p of ports) expect(await versionOn(p)).toBe('2.0.0');
      expect(await hostFile(0, 'shared', 'data', 'migrated.txt')).toBe(
        `${fleet.user} 2.0.0 postgres://db.internal/shop\n`,
      );
      expect(await hostFile(1, 'shared', 'data', 'migrated.txt')).toBeNull();
      for (const i of [0, 1]) {
        const [cwd, current, node] =
          (await hostFile(i, 'shared', 'data', 'warmed.txt'))?.trim().split(' ') ?? [];
        expect(cwd, fleet.hosts[i]!.name).toBe(join(fleet.hosts[i]!.root, 'releases', '2.0.0'));
        expect(current).toBe('releases/1.0.0');
        expect(node).toMatch(/^v\d+\./);
      }
      const history = JSON.parse((await ferry('history', 'fleet', '--json')).stdout) as {
        entries: { version: string; hosts?: { hooks?: { output: string[] }[] }[] }[];
      };
      const entry = history.entries.find((e) => e.version === '2.0.0');
      expect(entry?.hosts?.[0]?.hooks?.[0]?.output).toEqual(['migrations applied']);
      // The secret from shared/.env was written to a file by the hook, but never reaches the audit log.
      expect(JSON.stringify(history)).not.toContain('postgres://db.internal/shop');
    }, 120_000);

    it('a failing beforeSwitch stops the canary before its switch, and the rollout with it', async () => {
      await writeFile(
        configFile,
        `${baseConfig}hooks:
  beforeSwitch:
    - run: 'echo "migration 0007 failed: relation exists" >&2; exit 3'
      once: true
      timeoutSeconds: 30
`,
      );
      const r = await ferry('deploy', 'fleet', '--version', '3.0.0');
      expect(r.code, r.stdout + r.stderr).toBe(ExitCode.Failure);
      expect(r.stdout).toMatch(/host1 {2}FAILED at before-switch: beforeSwitch hook .* failed: exit 3/);
      expect(r.stdout).toContain('| migration 0007 failed: relation exists');
      expect(r.stdout).toMatch(/host2\s+skipped/);
      for (const p of ports) expect(await versionOn(p)).toBe('2.0.0');
      const state = JSON.parse((await hostFile(0, '.ferry', 'state.json')) ?? '{}') as { bad: string[] };
      expect(state.bad).not.toContain('3.0.0');
    }, 120_000);
  },
);
