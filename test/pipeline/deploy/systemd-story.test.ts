// The production path, end to end, under real systemd (PID 1 of its own namespaces, test/support/
// systemd-host.ts): a host with NO Node is set up over SSH as a non-root deploy user with the documented
// sudo rule, the runtime bootstrapped from the registry; deploys under load in systemd mode with two
// workers, a rollback, a deploy that changes the Node version and a rollback back onto the older Node;
// a killed worker and a killed supervisor; a "reboot"; journald; the sudo rule's limits; pull mode's timer.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';
import { freePort } from '../../fixtures/agent-host';
import { hammer } from '../../fixtures/load';
import { systemdAppConfigYaml } from '../../support/config-yaml';
import {
  NODE_22,
  NODE_24,
  requireTestRuntimes,
  runtimeFolder,
  TEST_FERRY_CACHE_DIR,
} from '../../support/node-runtimes';
import { type OssServer, startOssServer } from '../../support/oss-server';
import { describeIf, requireRoot, requireTool } from '../../support/require-tool';
import { runFerry } from '../../support/run-ferry';
import { bootSystemdHost, SYSTEMD_HOST_TOOLS, type SystemdHost } from '../../support/systemd-host';

const APP = 'e2e-app';
const UNIT = 'ferry-e2e';

// A small app that drains like the storage service does (net close, Connection: close, idle close), says
// which release and which Node it runs, and logs one line at start for journald.
const APP_SOURCE = `import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
const { version } = JSON.parse(readFileSync('manifest.json', 'utf8'));
console.log('e2e app ' + version + ' starting on node ' + process.version);
let closing = false;
const conns = new Map();
const server = http.createServer((req, res) => {
  const c = conns.get(req.socket);
  if (c) c.busy++;
  res.on('finish', () => { if (c) { c.busy--; c.idle = Date.now(); } });
  if (closing) res.setHeader('connection', 'close');
  if (req.url === '/healthz') return void res.end('ok');
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ version, node: process.version, execPath: process.execPath }));
});
server.on('connection', (s) => { conns.set(s, { busy: 0, idle: Date.now() }); s.on('close', () => conns.delete(s)); });
server.listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => {
  if (closing) return;
  closing = true;
  net.Server.prototype.close.call(server);
  setInterval(() => {
    for (const [s, c] of conns) if (c.busy === 0 && Date.now() - c.idle > 300) s.end();
    if (conns.size === 0) process.exit(0);
  }, 50);
});
`;

const until = async <T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!ok(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
    last = await fn();
  }
  return last;
};

describeIf(
  [
    requireRoot('boots systemd in its own namespaces and creates the deploy user'),
    ...SYSTEMD_HOST_TOOLS.map(([path, pkg]) => requireTool(path, pkg)),
    requireTestRuntimes([
      { version: NODE_22, arch: 'x64' },
      { version: NODE_24, arch: 'x64' },
    ]),
  ],
  'systemd mode end to end: a host with no Node, over SSH, under real systemd',
  () => {
    let host: SystemdHost;
    let oss: OssServer;
    let dir: string;
    let appPort: number;
    let env: Record<string, string | undefined>;
    let keys: ReturnType<typeof generateSigningKeyPair>;
    let from: string;

    const configFor = async (node: string, extra = '') => {
      const file = join(dir, `releases-${node}${extra ? '-pull' : ''}.yaml`);
      await writeFile(
        file,
        systemdAppConfigYaml({
          app: APP,
          entry: join(dir, 'app.mjs'),
          node,
          from,
          oss,
          publicKey: keys.publicKey,
          host: host.target,
          unitName: UNIT,
          appPort,
          extra,
        }),
      );
      return file;
    };
    let config22: string;
    const ferry = (config: string, ...argv: string[]) => runFerry(config, argv, { env, cwd: dir });
    const served = async () => {
      const res = await fetch(`http://127.0.0.1:${appPort}/version`).catch(() => null);
      return res?.ok ? ((await res.json()) as { version: string; node: string; execPath: string }) : null;
    };
    const supervisor = async () =>
      JSON.parse(await readFile(join(host.target.root, '.ferry', 'supervisor.json'), 'utf8')) as {
        pid: number;
        version: string;
        workers: { pid: number; state: string }[];
        crashes: { total: number };
      };
    const mainPid = async () =>
      (await host.execOk(['systemctl', 'show', '-p', 'MainPID', '--value', `${UNIT}.service`])).trim();

    beforeAll(async () => {
      [host, oss] = await Promise.all([
        // Its own address (the self-test has .40, logs-systemd .42, the orphan case .43): suites boot at once.
        bootSystemdHost({ name: 'e2e', address: '127.0.0.41' }),
        startOssServer({ bucket: 'ferry-releases' }),
      ]);
      dir = await mkdtemp(join(tmpdir(), 'ferry-systemd-story-'));
      await writeFile(join(dir, 'app.mjs'), APP_SOURCE);
      appPort = await freePort();
      keys = generateSigningKeyPair();
      from = await runtimeFolder([
        { version: NODE_22, arch: 'x64' },
        { version: NODE_24, arch: 'x64' },
      ]);
      env = {
        PATH: process.env.PATH,
        HOME: dir,
        FERRY_WHO: 'e2e@test',
        FERRY_CACHE_DIR: TEST_FERRY_CACHE_DIR,
        FERRY_SSH_KEY: host.target.privateKey,
        FERRY_SIGNING_KEY: keys.privateKeyPem,
        OSS_ACCESS_KEY_ID: oss.accessKeyId,
        OSS_ACCESS_KEY_SECRET: oss.accessKeySecret,
        FERRY_PULL_ACCESS_KEY_ID: oss.accessKeyId,
        FERRY_PULL_ACCESS_KEY_SECRET: oss.accessKeySecret,
      };
      config22 = await configFor(NODE_22);
      const config24 = await configFor(NODE_24);
      for (const [config, version] of [
        [config22, '1.0.0'],
        [config22, '1.1.0'],
        [config24, '2.0.0'],
      ] as const) {
        const r = await ferry(config, 'publish', '--version', version);
        expect(r.code, `publish ${version}: ${r.stderr}`).toBe(0);
      }
      // The documented rule, exactly as `ferry setup --print-sudoers` prints it, installed by root.
      const rule = await ferry(config22, 'setup', 'e2e', '--print-sudoers', '--pull');
      expect(rule.code, rule.stderr).toBe(0);
      await host.installSudoers(rule.stdout);
    }, 300_000);

    afterAll(async () => {
      await host?.stop();
      await oss?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('sets up a host that has no Node: the runtime comes from the registry; a second setup changes nothing', async () => {
      expect((await host.ssh('command -v node')).code).not.toBe(0);
      const r = await ferry(config22, 'setup', 'e2e');
      expect(r.code, r.stdout + r.stderr).toBe(0);
      // The newest release (2.0.0) pins Node 24: the agent and the supervisor run on it, whatever Node each
      // release's workers run on.
      expect(r.stdout).toContain(`node ${NODE_24} (x64)`);
      expect((await host.systemctl('is-active', `${UNIT}.service`)).stdout.trim()).toBe('active');
      const unit = await host.execOk(['cat', `/etc/systemd/system/${UNIT}.service`]);
      expect(unit).toContain(
        `ExecStart=${host.target.root}/.ferry/runtime/bin/node ${host.target.root}/.ferry/agent/index.js supervise`,
      );
      expect(unit).toContain(`agent on node ${NODE_24}`);
      // The deploy user still has no node of its own: only Ferry's.
      expect((await host.ssh('command -v node')).code).not.toBe(0);
      expect((await host.ssh(`${host.target.root}/.ferry/runtime/bin/node --version`)).stdout.trim()).toBe(
        `v${NODE_24}`,
      );

      const again = await ferry(config22, 'setup', 'e2e');
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/ready \(nothing changed\)/);
    }, 180_000);

    it('deploys under load with no failed request, rolls back, and changes the Node version both ways', async () => {
      const first = await ferry(config22, 'deploy', 'e2e', '--version', '1.0.0');
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(await served()).toMatchObject({ version: '1.0.0', node: `v${NODE_22}` });

      const step = async (...argv: string[]) => {
        const load = hammer(appPort, { concurrency: 6 });
        await new Promise((r) => setTimeout(r, 300));
        const r = await ferry(config22, ...argv);
        await new Promise((r) => setTimeout(r, 300));
        const report = await load.stop();
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(report.errorSamples).toEqual([]);
        expect({ non2xx: report.non2xx, errors: report.errors }).toEqual({ non2xx: 0, errors: 0 });
        expect(report.requests).toBeGreaterThan(50);
        return report;
      };
      await step('deploy', 'e2e', '--version', '1.1.0');
      expect(await served()).toMatchObject({ version: '1.1.0', node: `v${NODE_22}` });
      await step('rollback', 'e2e');
      expect(await served()).toMatchObject({ version: '1.0.0' });

      // A new Node under load: both generations answer during the hand-off, nobody sees an error.
      const change = await step('deploy', 'e2e', '--version', '2.0.0');
      expect(Object.keys(change.versions).sort()).toEqual(['1.0.0', '2.0.0']);
      const on24 = await served();
      expect(on24).toMatchObject({ version: '2.0.0', node: `v${NODE_24}` });
      expect(on24?.execPath).toBe(join(host.target.root, 'runtimes', `${NODE_24}-x64`, 'bin', 'node'));

      // Back onto the release pinned to the older Node: it runs on that older Node again.
      await step('rollback', 'e2e', '--to', '1.0.0');
      expect(await served()).toMatchObject({ version: '1.0.0', node: `v${NODE_22}` });
      const status = await ferry(config22, 'status', 'e2e', '--json');
      const h = (JSON.parse(status.stdout) as { hosts: { runtime: { serving: { node: string } } }[] })
        .hosts[0];
      expect(h?.runtime.serving.node).toBe(NODE_22);
    }, 240_000);

    it('brings back a killed worker, and systemd restarts a killed supervisor', async () => {
      const before = await supervisor();
      const victim = before.workers.find((w) => w.state === 'listening');
      expect(victim).toBeDefined();
      // PIDs in supervisor.json are the host's own (its PID namespace): kill from inside.
      await host.execOk(['kill', '-KILL', String(victim?.pid)]);
      await until(
        'the worker to come back',
        supervisor,
        (s) =>
          s.crashes.total === before.crashes.total + 1 &&
          s.workers.filter((w) => w.state === 'listening').length === 2,
      );
      expect((await served())?.version).toBe('1.0.0');

      const oldMain = await mainPid();
      expect(oldMain).toBe(String(before.pid));
      await host.execOk(['kill', '-KILL', oldMain]);
      await until('systemd to restart the supervisor', mainPid, (p) => p !== oldMain && p !== '0', 30_000);
      await until('the service to answer again', served, (s) => s?.version === '1.0.0');
      expect((await host.systemctl('is-active', `${UNIT}.service`)).stdout.trim()).toBe('active');
    }, 120_000);

    it("shows the app's own lines in journalctl -u", async () => {
      const journal = await host.journalctl('-u', `${UNIT}.service`, '-o', 'cat', '--no-pager');
      expect(journal.stdout).toContain(`e2e app 1.0.0 starting on node v${NODE_22}`);
      expect(journal.stdout).toContain(`e2e app 2.0.0 starting on node v${NODE_24}`);
    });

    it('lets the deploy user reload and restart exactly the Ferry unit, and nothing else', async () => {
      const pid = await mainPid();
      const allowed = await host.ssh(`sudo -n systemctl restart ${UNIT}.service`);
      expect(allowed.code, allowed.stderr).toBe(0);
      await until('the restarted service', served, (s) => s?.version === '1.0.0');
      expect(await mainPid()).not.toBe(pid);
      expect((await host.ssh(`sudo -n systemctl reload ${UNIT}.service`)).code).toBe(0);

      const journald = async () =>
        (
          await host.execOk(['systemctl', 'show', '-p', 'ExecMainPID', '--value', 'systemd-journald.service'])
        ).trim();
      const journaldPid = await journald();
      for (const cmd of [
        'sudo -n systemctl restart systemd-journald.service',
        `sudo -n systemctl stop ${UNIT}.service`,
        'sudo -n cat /etc/shadow',
        `sudo -n /usr/bin/install -m 0644 /etc/passwd /etc/systemd/system/${UNIT}.service`,
      ]) {
        const refused = await host.ssh(cmd);
        expect(refused.code, cmd).not.toBe(0);
        expect(refused.stderr, cmd).toMatch(/password is required|not allowed/);
      }
      expect(await journald()).toBe(journaldPid);
      expect((await host.systemctl('is-active', `${UNIT}.service`)).stdout.trim()).toBe('active');
    }, 60_000);

    it('comes back on `current` after a reboot, with no ferry command', async () => {
      await host.reboot();
      const back = await until('the service after the reboot', served, (s) => s !== null, 60_000);
      expect(back).toMatchObject({ version: '1.0.0', node: `v${NODE_22}` });
    }, 120_000);

    it('setup --pull: the timer really fires and the host converges to a promoted release', async () => {
      const pullConfig = await configFor(
        NODE_22,
        '    pull:\n      intervalSeconds: 10\n      jitterSeconds: 0\n',
      );
      const r = await ferry(pullConfig, 'setup', 'e2e', '--pull');
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('sync timer');
      const timer = `${UNIT}-sync.timer`;
      expect((await host.systemctl('is-active', timer)).stdout.trim()).toBe('active');

      const pub = await ferry(pullConfig, 'publish', '--version', '1.2.0');
      expect(pub.code, pub.stderr).toBe(0);
      const promote = await ferry(pullConfig, 'promote', '1.2.0', 'e2e');
      expect(promote.code, promote.stdout + promote.stderr).toBe(0);
      const converged = await until('the host to pull 1.2.0', served, (s) => s?.version === '1.2.0', 90_000);
      expect(converged?.node).toBe(`v${NODE_22}`);
      const runs = await host.journalctl('-u', `${UNIT}-sync.service`, '-o', 'short-precise', '--no-pager');
      expect(runs.stdout).toContain('1.2.0');
    }, 180_000);
  },
);
