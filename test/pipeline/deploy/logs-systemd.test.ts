// `ferry logs` and `ferry maintenance` in systemd mode under real systemd (test/support/systemd-host.ts):
// the log is the unit's journal, read by the deploy user over SSH with journalctl; every line carries its
// release, so --release works on a journal several releases shared; a deploy user outside the
// systemd-journal group is told so; -f interrupted by SIGINT leaves neither `agent logs` nor `journalctl`
// running on the host; maintenance survives `systemctl restart` of the unit.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';
import { freePort, REPO } from '../../fixtures/agent-host';
import { processesWith } from '../../support/cmdline';
import { systemdAppConfigYaml } from '../../support/config-yaml';
import { run } from '../../support/fleet/exec';
import {
  NODE_22,
  requireTestRuntimes,
  runtimeFolder,
  TEST_FERRY_CACHE_DIR,
} from '../../support/node-runtimes';
import { type OssServer, startOssServer } from '../../support/oss-server';
import { describeIf, requireRoot, requireTool } from '../../support/require-tool';
import { runFerry } from '../../support/run-ferry';
import { bootSystemdHost, SYSTEMD_HOST_TOOLS, type SystemdHost } from '../../support/systemd-host';

const APP = 'logs-app';
const UNIT = 'ferry-logs';
const USER = 'ferrylogs';

// Says which release it is at start, and prints what it is asked to: /say on stdout, /warn on stderr.
const APP_SOURCE = `import http from 'node:http';
import { readFileSync } from 'node:fs';
const { version } = JSON.parse(readFileSync('manifest.json', 'utf8'));
console.log('app ' + version + ' started');
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/say') console.log('said ' + url.searchParams.get('t'));
  if (url.pathname === '/warn') console.error('warned ' + url.searchParams.get('t'));
  if (url.pathname === '/healthz') return void res.end('ok');
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ version }));
});
server.listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

describeIf(
  [
    requireRoot('boots systemd in its own namespaces and creates the deploy user'),
    ...SYSTEMD_HOST_TOOLS.map(([path, pkg]) => requireTool(path, pkg)),
    requireTestRuntimes([{ version: NODE_22, arch: 'x64' }]),
  ],
  'ferry logs and maintenance in systemd mode, under real systemd',
  () => {
    let host: SystemdHost;
    let oss: OssServer;
    let dir: string;
    let configFile: string;
    let appPort: number;
    let env: Record<string, string | undefined>;

    const ferry = (...argv: string[]) => runFerry(configFile, argv, { env, cwd: dir });
    const get = (path: string) => fetch(`http://127.0.0.1:${appPort}${path}`);
    const jsonLogs = async (...args: string[]) => {
      const r = await ferry('logs', 'e2e', '--json', ...args);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map(
          (l) =>
            JSON.parse(l) as {
              host: string;
              release: string | null;
              stream: string;
              line: string;
              pid: number;
            },
        );
    };
    /** Waits until the unit's journal has a line (journald may take a moment to index it). */
    const journaled = async (text: string) => {
      for (let i = 0; i < 100; i++) {
        if ((await host.journalctl('-u', `${UNIT}.service`, '-o', 'cat')).stdout.includes(text)) return;
        await sleep(100);
      }
      throw new Error(`the journal never showed "${text}"`);
    };
    const inHost = (args: string[]) => processesWith({ args }, host.processes());

    beforeAll(async () => {
      [host, oss] = await Promise.all([
        // Each real-systemd suite has its own address: suites run at once, and sshd's port is fixed.
        bootSystemdHost({ name: 'logs', user: USER, address: '127.0.0.42' }),
        startOssServer({ bucket: 'ferry-releases' }),
      ]);
      // On a real host systemd-tmpfiles gives the journal to the systemd-journal group at boot; the test
      // host masks systemd-tmpfiles-setup.service (it would empty the machine's /tmp), so that one rule is
      // applied here, inside the host's private /run.
      await host.execOk(['systemd-tmpfiles', '--create', '--prefix', '/run/log/journal']);
      dir = await mkdtemp(join(tmpdir(), 'ferry-logs-systemd-'));
      await writeFile(join(dir, 'app.mjs'), APP_SOURCE);
      appPort = await freePort();
      const keys = generateSigningKeyPair();
      const from = await runtimeFolder([{ version: NODE_22, arch: 'x64' }]);
      configFile = join(dir, 'releases.yaml');
      await writeFile(
        configFile,
        systemdAppConfigYaml({
          app: APP,
          entry: join(dir, 'app.mjs'),
          node: NODE_22,
          from,
          oss,
          publicKey: keys.publicKey,
          host: host.target,
          unitName: UNIT,
          appPort,
        }),
      );
      env = {
        PATH: process.env.PATH,
        HOME: dir,
        FERRY_WHO: 'logs@test',
        FERRY_CACHE_DIR: TEST_FERRY_CACHE_DIR,
        FERRY_SSH_KEY: host.target.privateKey,
        FERRY_SIGNING_KEY: keys.privateKeyPem,
        OSS_ACCESS_KEY_ID: oss.accessKeyId,
        OSS_ACCESS_KEY_SECRET: oss.accessKeySecret,
      };
      for (const version of ['1.0.0', '1.1.0']) {
        const r = await ferry('publish', '--version', version);
        expect(r.code, `publish ${version}: ${r.stderr}`).toBe(0);
      }
      const rule = await ferry('setup', 'e2e', '--print-sudoers');
      expect(rule.code, rule.stderr).toBe(0);
      await host.installSudoers(rule.stdout);
      const setup = await ferry('setup', 'e2e');
      expect(setup.code, setup.stdout + setup.stderr).toBe(0);
      for (const version of ['1.0.0', '1.1.0']) {
        const d = await ferry('deploy', 'e2e', '--version', version);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        // Two workers: two requests reach both... or one twice; either way the line names the release.
        await get(`/say?t=hello-${version}`);
        await get(`/warn?t=careful-${version}`);
      }
      await journaled('warned careful-1.1.0');
    }, 300_000);

    afterAll(async () => {
      await host?.stop();
      await oss?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
      // Back to how ensureTestUser left the user.
      await run(['gpasswd', '-d', USER, 'systemd-journal']);
    });

    it('tells a deploy user outside the systemd-journal group why it sees nothing, and how to fix it', async () => {
      await run(['gpasswd', '-d', USER, 'systemd-journal']);
      const r = await ferry('logs', 'e2e');
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `error: logs: journalctl exited 1: No journal files were opened due to insufficient permissions. (let ${USER} read the journal: sudo usermod -aG systemd-journal ${USER})\n`,
      );
      expect(r.stdout).toBe('');
      // The fix the warning names; the next SSH login has the group.
      expect((await run(['usermod', '-aG', 'systemd-journal', USER])).code).toBe(0);
    });

    it("reads the unit's journal: every app line marked with its release and stream, the supervisor's too", async () => {
      const lines = await jsonLogs('--lines', '500');
      const app = lines.filter((l) => /^(app|said|warned) /.test(l.line));
      expect(app.map((l) => [l.release, l.stream, l.line])).toEqual(
        expect.arrayContaining([
          ['1.0.0', 'out', 'app 1.0.0 started'],
          ['1.0.0', 'out', 'said hello-1.0.0'],
          ['1.0.0', 'err', 'warned careful-1.0.0'],
          ['1.1.0', 'out', 'app 1.1.0 started'],
          ['1.1.0', 'out', 'said hello-1.1.0'],
          ['1.1.0', 'err', 'warned careful-1.1.0'],
        ]),
      );
      for (const l of app) expect(l.line).toContain(l.release as string);
      expect(lines.find((l) => l.line.startsWith('supervisor: generation'))).toMatchObject({
        host: 'logs',
        release: null,
        stream: 'sup',
      });
      // systemd's own lines about the unit come through as they are.
      expect(lines.some((l) => l.stream === 'other' && l.release === null)).toBe(true);

      const old = await jsonLogs('--release', '1.0.0');
      expect(old.length).toBeGreaterThanOrEqual(4);
      expect(new Set(old.map((l) => l.release))).toEqual(new Set(['1.0.0']));
      const human = await ferry('logs', 'e2e', '--release', '1.1.0', '--lines', '1');
      expect(human.stdout).toMatch(/^logs {2}\S+Z {2}1\.1\.0 {2}warned careful-1\.1\.0\n$/);
    });

    it('-f: new journal lines as they come; SIGINT ends it, and no agent logs or journalctl is left on the host', async () => {
      const cli = spawn(
        process.execPath,
        [
          join(REPO, 'bin', 'ferry.js'),
          '-c',
          configFile,
          'logs',
          'e2e',
          '-f',
          '--since',
          new Date().toISOString(),
        ],
        { cwd: dir, env: { ...process.env, ...env } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      cli.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (stdout.includes('said follow-me\n')) cli.kill('SIGINT');
      });
      cli.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      const exited = new Promise<number | null>((resolve) => cli.on('close', (code) => resolve(code)));
      try {
        for (let i = 0; i < 300 && inHost(['journalctl', '--follow']).length === 0; i++) await sleep(50);
        expect(inHost(['logs', '--follow'])).toHaveLength(1);
        expect(inHost(['journalctl', '--follow'])).toHaveLength(1);
        await get('/say?t=follow-me');
        expect(await Promise.race([exited, sleep(30_000).then(() => 'timed out')]), stdout + stderr).toBe(0);
      } finally {
        if (cli.exitCode === null) cli.kill('SIGKILL');
      }
      expect(stdout).toMatch(/^logs {2}\S+Z {2}1\.1\.0 {2}said follow-me$/m);
      expect(inHost(['logs'])).toEqual([]);
      expect(inHost(['journalctl'])).toEqual([]);
    });

    it('maintenance holds through systemctl restart of the unit, and shows in status', async () => {
      const on = await ferry('maintenance', 'e2e', 'on', '--message', 'Moving house');
      expect(on.code, on.stdout + on.stderr).toBe(0);
      expect((await get('/files')).status).toBe(503);
      const restart = await host.ssh(`sudo -n systemctl restart ${UNIT}.service`);
      expect(restart.code, restart.stderr).toBe(0);
      let answer = await get('/healthz').catch(() => null);
      for (let i = 0; i < 100 && answer?.status !== 200; i++) {
        await sleep(200);
        answer = await get('/healthz').catch(() => null);
      }
      const refused = await get('/files');
      expect(refused.status).toBe(503);
      expect(await refused.json()).toEqual({
        error: { code: 'maintenance', message: 'Moving house' },
        retryAfter: 300,
      });
      const status = await ferry('status', 'e2e');
      expect(status.stdout).toMatch(/logs: in maintenance since \S+ by logs@test \("Moving house"\)\n/);
      const off = await ferry('maintenance', 'e2e', 'off');
      expect(off.code, off.stderr).toBe(0);
      expect((await get('/files')).status).toBe(200);
    });
  },
);
