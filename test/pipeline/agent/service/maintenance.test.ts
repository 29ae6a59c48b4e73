// Maintenance mode on a real supervisor in process mode: every request answered 503 with a JSON body and
// Retry-After, on new connections and on keep-alive connections opened before it began, while the health
// and version paths pass; the app keeps running; a deploy's gate still works; it survives a worker crash
// and a supervisor restart; it is visible in `agent status`; and a supervisor from before maintenance
// mode is left alone rather than killed by a signal it does not handle.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../../../pipeline/agent/host/proc';
import { ExitCode } from '../../../../pipeline/exit-codes';
import {
  deployArgs,
  destroyHost,
  makeHost,
  runAgent,
  servedVersion,
  type TestHost,
} from '../../../fixtures/agent-host';
import { type RegistryServer, startRegistryServer } from '../../../fixtures/registry-server';
import { newSigningKey, type Published, publishFakeApp } from '../../../fixtures/releases';

let regDir: string;
let reg: RegistryServer;
let host: TestHost;
const rel: Record<string, Published> = {};
// One pooled connection, opened before maintenance begins: a load balancer's upstream connection.
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  reused: boolean;
}

function request(
  path: string,
  opts: { agent?: http.Agent; method?: string; body?: string; headers?: http.OutgoingHttpHeaders } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: host.port,
        path,
        method: opts.method ?? 'GET',
        agent: opts.agent ?? false,
        headers: opts.headers,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          body += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, reused: req.reusedSocket }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const maintenance = (...args: string[]) =>
  runAgent(['maintenance', ...args, '--root', host.root, '--who', 'ops@test']);
const status = async () => (await runAgent(['status', '--root', host.root])).result;
const sup = async () => JSON.parse(await readFile(host.paths.supervisorState, 'utf8'));

async function expectRefused(a: Answer, message: string, retryAfter: number) {
  expect(a.status).toBe(503);
  expect(a.headers['retry-after']).toBe(String(retryAfter));
  expect(a.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(JSON.parse(a.body)).toEqual({ error: { code: 'maintenance', message }, retryAfter });
}

beforeAll(async () => {
  const key = newSigningKey();
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
  rel.one = await publishFakeApp(regDir, key, '1.0.0');
  rel.two = await publishFakeApp(regDir, key, '2.0.0');
  host = await makeHost(key.publicKey, { workers: 2 });
  const run = await runAgent(deployArgs(host, reg, rel.one as Published));
  expect(run.result?.ok, run.stderr).toBe(true);
}, 60_000);

afterAll(async () => {
  keepAlive.destroy();
  await destroyHost(host);
  await reg.close();
  await rm(regDir, { recursive: true, force: true });
});

describe.sequential('maintenance mode', () => {
  it('answers 503 with a JSON body and Retry-After on every route, keep-alive connections included', async () => {
    const before = await request('/version', { agent: keepAlive });
    expect(before.status).toBe(200);
    const pids = (await sup()).workers.map((w: { pid: number }) => w.pid).sort();

    const on = await maintenance('on', '--message', 'Back at 10:00 UTC', '--retry-after', '120');
    expect(on.code, on.stderr).toBe(0);
    expect(on.result).toMatchObject({ ok: true, on: true, running: true, applied: true, workers: 2 });

    const pooled = await request('/files/report.pdf', { agent: keepAlive });
    expect(pooled.reused).toBe(true);
    await expectRefused(pooled, 'Back at 10:00 UTC', 120);
    for (const path of ['/', '/files', '/slow?ms=10', '/healthz/extra'])
      await expectRefused(await request(path), 'Back at 10:00 UTC', 120);
    await expectRefused(
      await request('/upload', { method: 'POST', body: 'x'.repeat(100_000) }),
      'Back at 10:00 UTC',
      120,
    );
    // A WebSocket upgrade is refused the same way, before the app's 'upgrade' listener sees it.
    await expectRefused(
      await request('/socket', { headers: { connection: 'Upgrade', upgrade: 'websocket' } }),
      'Back at 10:00 UTC',
      120,
    );
    // Health probes pass, with or without a query: the app answers them itself.
    expect((await request('/healthz')).status).toBe(200);
    expect((await request('/healthz?from=slb')).status).toBe(200);
    expect(JSON.parse((await request('/version')).body)).toMatchObject({ version: '1.0.0' });
    // The app was not stopped or restarted.
    expect((await sup()).workers.map((w: { pid: number }) => w.pid).sort()).toEqual(pids);
  });

  it('shows in agent status and in history', async () => {
    expect((await status())?.maintenance).toMatchObject({
      on: true,
      applied: true,
      message: 'Back at 10:00 UTC',
      retryAfterSec: 120,
      by: 'ops@test',
    });
    expect((await status())?.health).toMatchObject({ ok: true, version: '1.0.0' });
    const history = await runAgent(['history', '--root', host.root]);
    expect(history.result?.entries.at(-1)).toMatchObject({
      op: 'maintenance',
      who: 'ops@test',
      result: 'note',
      note: 'maintenance on: Back at 10:00 UTC (Retry-After 120s)',
    });
  });

  it('a deploy during maintenance passes its gate, and the new workers keep refusing users', async () => {
    const run = await runAgent(deployArgs(host, reg, rel.two as Published));
    expect(run.result?.ok, run.stderr).toBe(true);
    expect(await servedVersion(host.port)).toBe('2.0.0');
    for (let i = 0; i < 4; i++) await expectRefused(await request('/'), 'Back at 10:00 UTC', 120);
  });

  it('holds through a worker crash and a supervisor restart', async () => {
    const victim = (await sup()).workers[0].pid as number;
    process.kill(victim, 'SIGKILL');
    await expect
      .poll(
        async () => {
          const s = await sup();
          return s.workers.filter(
            (w: { state: string; pid: number }) => w.state === 'listening' && w.pid !== victim,
          ).length;
        },
        { timeout: 10_000 },
      )
      .toBe(2);
    for (let i = 0; i < 4; i++) await expectRefused(await request('/'), 'Back at 10:00 UTC', 120);

    const pid = (await sup()).pid as number;
    expect((await runAgent(['service', 'stop', '--root', host.root])).result?.ok).toBe(true);
    const started = await runAgent(['service', 'start', '--root', host.root]);
    expect(started.result, started.stderr).toMatchObject({ ok: true, version: '2.0.0' });
    expect((await sup()).pid).not.toBe(pid);
    for (let i = 0; i < 4; i++) await expectRefused(await request('/'), 'Back at 10:00 UTC', 120);
    expect((await status())?.maintenance).toMatchObject({ on: true, applied: true });
  });

  it('off: the app answers again, on a pooled connection too', async () => {
    const pooled = await request('/version', { agent: keepAlive });
    expect(pooled.status).toBe(200);
    const off = await maintenance('off');
    expect(off.result, off.stderr).toMatchObject({ ok: true, on: false, applied: true, workers: 2 });
    const again = await request('/no-such-route', { agent: keepAlive });
    expect(again.reused).toBe(true);
    expect(again).toMatchObject({ status: 404, body: 'not found' });
    expect((await request('/slow?ms=10')).body).toBe('slow done');
    expect(
      (await request('/socket', { headers: { connection: 'Upgrade', upgrade: 'websocket' } })).body,
    ).toBe('upgraded');
    expect((await status())?.maintenance).toMatchObject({ on: false, applied: true, by: 'ops@test' });
  });

  it('refuses bad input with a usage error and changes nothing', async () => {
    for (const args of [
      ['sideways'],
      [],
      ['on', 'off'],
      ['on', '--message', ''],
      ['on', '--retry-after', '0'],
    ]) {
      const r = await maintenance(...args);
      expect(r.code, args.join(' ')).toBe(ExitCode.Usage);
      expect(r.result?.error?.code).toBe('usage');
    }
    expect((await request('/slow?ms=10')).status).toBe(200);
  });

  it('does not signal a supervisor from before maintenance mode (SIGUSR2 would kill it): it says to restart', async () => {
    const old = await makeHost('ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    // A long-running process whose command line says `supervise`, as an older agent's would, with the
    // supervisor.json such a supervisor wrote: no maintenance field.
    const fake = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'supervise'], {
      stdio: 'ignore',
    });
    try {
      await writeFile(old.paths.supervisorPid, `${fake.pid}\n`);
      await writeFile(
        old.paths.supervisorState,
        JSON.stringify({ pid: fake.pid, phase: 'serving', generation: 1, version: '1.0.0', workers: [] }),
      );
      const r = await runAgent(['maintenance', 'on', '--root', old.root]);
      expect(r.code).toBe(ExitCode.Failure);
      expect(r.result?.error).toMatchObject({ code: 'maintenance_failed' });
      expect(r.result?.error.message).toContain('predates maintenance mode');
      expect(r.result?.error.remedy).toContain('agent service stop, then agent service start');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(isProcessAlive(fake.pid as number)).toBe(true);
      // Saved: the next supervisor starts in maintenance.
      expect(JSON.parse(await readFile(old.paths.maintenance, 'utf8'))).toMatchObject({ on: true });
    } finally {
      fake.kill('SIGKILL');
      await rm(old.root, { recursive: true, force: true });
    }
  });
});
