// Warm standby: the generation a deploy replaced stays up, out of rotation, so a rollback to it starts no
// app at all: it is proven healthy again on its private ports and takes the traffic back in one step.
// Out of rotation means out: the keep-alive connections it held are closed, so no client keeps talking to
// the old release, and nobody sees an error on the way.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deployArgs,
  destroyHost,
  makeHost,
  runAgent,
  servedVersion,
  type TestHost,
} from '../../../fixtures/agent-host';
import { hammer } from '../../../fixtures/load';
import { type RegistryServer, startRegistryServer } from '../../../fixtures/registry-server';
import { newSigningKey, type Published, publishFakeApp } from '../../../fixtures/releases';

let regDir: string;
let reg: RegistryServer;
let host: TestHost;
const rel: Record<string, Published> = {};
const sup = async () => JSON.parse(await readFile(host.paths.supervisorState, 'utf8'));
const pidsOf = (s: { workers: { pid: number; state: string }[] }, state: string) =>
  s.workers
    .filter((w) => w.state === state)
    .map((w) => w.pid)
    .sort();

beforeAll(async () => {
  const key = newSigningKey();
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
  rel.v1 = await publishFakeApp(regDir, key, '1.0.0');
  rel.v2 = await publishFakeApp(regDir, key, '2.0.0');
  rel.v3 = await publishFakeApp(regDir, key, '3.0.0');
  host = await makeHost(key.publicKey, { workers: 2 });
  const first = await runAgent(deployArgs(host, reg, rel.v1 as Published));
  expect(first.result?.ok, first.stderr).toBe(true);
});

afterAll(async () => {
  await destroyHost(host);
  await reg.close();
  await rm(regDir, { recursive: true, force: true });
});

describe.sequential('warm standby', () => {
  let v1Workers: number[];

  it('keeps the replaced generation up out of rotation, and closes the keep-alive connections it held', async () => {
    v1Workers = pidsOf(await sup(), 'listening');
    // A keep-alive connection to 1.0.0, idle when the deploy happens.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ version: string; socketClosed: Promise<void> }>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: host.port, path: '/version', agent }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c;
          });
          res.on('end', () => resolve({ version: JSON.parse(body).version, socketClosed }));
        });
        const socketClosed = new Promise<void>((r) => req.once('socket', (s) => s.once('close', () => r())));
        req.on('error', reject);
      });
    const before = await get();
    expect(before.version).toBe('1.0.0');

    let closedBeforeDeployReturned = false;
    void before.socketClosed.then(() => {
      closedBeforeDeployReturned = true;
    });
    const run = await runAgent(deployArgs(host, reg, rel.v2 as Published));
    // The reload waits for the standby to end its idle connections before it reports: a client told
    // "deployed" that reuses this connection finds it closed rather than racing the close.
    expect(closedBeforeDeployReturned).toBe(true);
    expect(run.result?.ok, run.stderr).toBe(true);
    expect((await get()).version).toBe('2.0.0');
    agent.destroy();

    const s = await sup();
    expect(s.standby).toMatchObject({ version: '1.0.0' });
    expect(pidsOf(s, 'standby')).toEqual(v1Workers);
    expect(pidsOf(s, 'listening')).toHaveLength(2);
  });

  it('a rollback brings the standby back under load: no app start, no failed request', async () => {
    const load = hammer(host.port, { concurrency: 6 });
    await new Promise((r) => setTimeout(r, 200));
    const run = await runAgent(['rollback', '--root', host.root, '--who', 'tester@vitest']);
    await new Promise((r) => setTimeout(r, 200));
    const report = await load.stop();
    expect(run.result, run.stderr).toMatchObject({ ok: true, version: '1.0.0' });
    expect(report.errorSamples).toEqual([]);
    expect({ non2xx: report.non2xx, errors: report.errors }).toEqual({ non2xx: 0, errors: 0 });
    expect(await servedVersion(host.port)).toBe('1.0.0');
    const s = await sup();
    // The very same processes serve again: nothing was started.
    expect(pidsOf(s, 'listening')).toEqual(v1Workers);
    expect(s.lastReload).toMatchObject({ ok: true, version: '1.0.0' });
    // The release rolled away from is bad, so it is not kept warm.
    expect(s.standby).toBeNull();
  });

  it('a standby whose worker died is dropped, and a later rollback starts a fresh generation', async () => {
    const run = await runAgent(deployArgs(host, reg, rel.v3 as Published));
    expect(run.result?.ok, run.stderr).toBe(true);
    const s = await sup();
    expect(s.standby).toMatchObject({ version: '1.0.0' });
    process.kill(pidsOf(s, 'standby')[0] as number, 'SIGKILL');
    await expect.poll(async () => (await sup()).standby, { timeout: 5000 }).toBeNull();
    const back = await runAgent(['rollback', '--root', host.root, '--who', 'tester@vitest']);
    expect(back.result, back.stderr).toMatchObject({ ok: true, version: '1.0.0' });
    const after = await sup();
    expect(pidsOf(after, 'listening')).toHaveLength(2);
    expect(pidsOf(after, 'listening')).not.toEqual(v1Workers);
    expect(await servedVersion(host.port)).toBe('1.0.0');
  });
});
