// `ferry logs` and `ferry maintenance` over real SSH (2 sshd hosts, host keys pinned, a non-root deploy
// user, process mode), with the strict OSS-protocol server as the registry: lines of both hosts merged;
// `-f` interrupted with SIGINT ends every remote `agent logs` (nothing orphaned on the hosts, which are
// this machine's processes); maintenance on one host and off again.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';
import { freePort, httpGet, REPO } from '../../fixtures/agent-host';
import { FIXTURE_APP, fakeAppFiles, innerManifest, packArtifact } from '../../fixtures/releases';
import { processesWith } from '../../support/cmdline';
import { fleetHostsYaml, ossRegistryYaml } from '../../support/config-yaml';
import { type OssServer, startOssServer } from '../../support/oss-server';
import { describeIf, requireRoot, requireTool } from '../../support/require-tool';
import { runFerry } from '../../support/run-ferry';
import { type Fleet, startFleet } from '../../support/ssh-fleet';

describeIf(
  [requireTool('/usr/sbin/sshd', 'openssh-server'), requireRoot('creates the fleet user and runs sshd')],
  'ferry logs and maintenance over SSH',
  () => {
    let fleet: Fleet;
    let oss: OssServer;
    let dir: string;
    let configFile: string;
    let env: Record<string, string | undefined>;
    const ports: number[] = [];

    const ferry = (...argv: string[]) => runFerry(configFile, argv, { env, cwd: dir });
    /** Host i's app prints 'fixture <version> <text> 1'; waits until its supervisor wrote it down. */
    const say = async (i: number, text: string) => {
      expect((await httpGet(ports[i]!, `/log?text=${text}`))?.body).toBe('1');
      const log = join(fleet.hosts[i]!.root, '.ferry', 'logs', 'service.log');
      for (let n = 0; !(await readFile(log, 'utf8')).includes(` ${text} 1\n`); n++) {
        if (n > 200) throw new Error(`host${i + 1} never logged ${text}`);
        await sleep(25);
      }
    };
    const remoteAgents = () =>
      fleet.hosts.flatMap((h) => processesWith({ args: ['logs', '--follow'], contains: [h.root] }));

    beforeAll(async () => {
      [fleet, oss] = await Promise.all([
        startFleet({ count: 2 }),
        startOssServer({ bucket: 'ferry-releases' }),
      ]);
      dir = await mkdtemp(join(tmpdir(), 'ferry-logs-ssh-'));
      for (const _ of fleet.hosts) ports.push(await freePort());
      const keys = generateSigningKeyPair();
      configFile = join(dir, 'releases.yaml');
      await writeFile(
        configFile,
        `app:
  name: ${FIXTURE_APP}
  entry: ${join(REPO, 'app', 'server.ts')}
${ossRegistryYaml(oss)}signing:
  publicKey: ${keys.publicKey}
environments:
  fleet:
    transport: ssh
    user: ${fleet.user}
    path: /nonexistent
    health:
      timeoutSeconds: 10
    service:
      mode: process
      workers: 1
      bind: 127.0.0.1
${fleetHostsYaml(fleet, ports)}`,
      );
      env = {
        PATH: process.env.PATH,
        HOME: dir,
        FERRY_WHO: 'logs@test',
        FERRY_SSH_KEY: fleet.hosts[0]!.privateKey,
        FERRY_SIGNING_KEY: keys.privateKeyPem,
        OSS_ACCESS_KEY_ID: oss.accessKeyId,
        OSS_ACCESS_KEY_SECRET: oss.accessKeySecret,
      };
      // The fake app, packed as `ferry build` would, published with `ferry publish --artifact`.
      const files = fakeAppFiles();
      await mkdir(join(dir, 'dist'));
      const artifact = join(dir, 'dist', `${FIXTURE_APP}-1.0.0.tar.br`);
      await writeFile(artifact, await packArtifact(innerManifest(FIXTURE_APP, '1.0.0', files), files));
      const publish = await ferry('publish', '--artifact', artifact);
      expect(publish.code, publish.stderr).toBe(0);
      const setup = await ferry('setup', 'fleet');
      expect(setup.code, setup.stdout + setup.stderr).toBe(0);
      const deploy = await ferry('deploy', 'fleet', '--version', '1.0.0');
      expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
      await say(0, 'one');
      await say(1, 'two');
    }, 240_000);

    afterAll(async () => {
      await fleet?.stop(); // also kills the supervisors running under the fleet's folders
      await oss?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('prints both hosts, merged by time; --host and --json narrow and reshape it', async () => {
      const all = await ferry('logs', 'fleet');
      expect(all.code, all.stderr).toBe(0);
      expect(all.stdout.split('\n').filter((l) => l.includes(' fixture '))).toEqual([
        expect.stringMatching(/^host1 {2}\S+Z {2}1\.0\.0 {2}fixture 1\.0\.0 one 1$/),
        expect.stringMatching(/^host2 {2}\S+Z {2}1\.0\.0 {2}fixture 1\.0\.0 two 1$/),
      ]);
      const json = await ferry('logs', 'fleet', '--host', 'host2', '--release', '1.0.0', '--json');
      expect(json.code, json.stderr).toBe(0);
      const objects = json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { host: string; line: string });
      expect(objects.map((o) => [o.host, o.line])).toEqual([['host2', 'fixture 1.0.0 two 1']]);
    });

    it('-f follows both hosts over SSH; SIGINT ends it with exit 0 and no agent left on either host', async () => {
      const since = new Date().toISOString();
      const cli = spawn(
        process.execPath,
        [join(REPO, 'bin', 'ferry.js'), '-c', configFile, 'logs', 'fleet', '-f', '--since', since],
        {
          cwd: dir,
          env: { ...process.env, ...env } as NodeJS.ProcessEnv,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      cli.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        // Both lines seen: each host's stream delivered. (Their order is the merger's, tested on its own;
        // over two SSH sessions on a loaded machine one can arrive after the merge window.)
        if (stdout.includes('fixture 1.0.0 follow-a 1\n') && stdout.includes('fixture 1.0.0 follow-b 1\n')) {
          cli.kill('SIGINT');
        }
      });
      cli.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      const exited = new Promise<number | null>((resolve) => cli.on('close', (code) => resolve(code)));
      try {
        for (let i = 0; i < 300 && remoteAgents().length < 2; i++) await sleep(50);
        // Each host runs its own `agent logs --follow`, as the deploy user, under its sshd.
        expect(remoteAgents()).toHaveLength(2);
        await say(0, 'follow-a');
        await say(1, 'follow-b');
        expect(await Promise.race([exited, sleep(30_000).then(() => 'timed out')]), stdout + stderr).toBe(0);
      } finally {
        if (cli.exitCode === null) cli.kill('SIGKILL');
      }
      expect(
        stdout
          .split('\n')
          .filter((l) => l.includes(' fixture '))
          .sort(),
      ).toEqual([
        expect.stringMatching(/^host1 .* fixture 1\.0\.0 follow-a 1$/),
        expect.stringMatching(/^host2 .* fixture 1\.0\.0 follow-b 1$/),
      ]);
      expect(remoteAgents()).toEqual([]);
    });

    it('maintenance on one host over SSH: its users get 503, the other host serves; off again', async () => {
      const on = await ferry('maintenance', 'fleet', 'on', '--host', 'host2', '--retry-after', '90');
      expect(on.code, on.stdout + on.stderr).toBe(0);
      const answer = await fetch(`http://127.0.0.1:${ports[1]}/files`);
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('90');
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('maintenance');
      expect((await fetch(`http://127.0.0.1:${ports[1]}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${ports[0]}/files`)).status).toBe(404);
      const status = JSON.parse((await ferry('status', 'fleet', '--json')).stdout) as {
        hosts: { host: string; maintenance: { on: boolean; applied: boolean } }[];
      };
      expect(status.hosts.map((h) => [h.host, h.maintenance.on, h.maintenance.applied])).toEqual([
        ['host1', false, true],
        ['host2', true, true],
      ]);
      const off = await ferry('maintenance', 'fleet', 'off');
      expect(off.code, off.stderr).toBe(0);
      expect((await fetch(`http://127.0.0.1:${ports[1]}/files`)).status).toBe(404);
    });
  },
);
