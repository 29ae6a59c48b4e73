// The supervisor in process mode: start/stop/reload/status through `agent service`, a crashed worker
// restarted (and counted), secrets from shared/.env re-read on reload.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../../../pipeline/agent/host/proc';
import {
  deployArgs,
  destroyHost,
  httpGet,
  makeHost,
  runAgent,
  servedVersion,
  type TestHost,
} from '../../../fixtures/agent-host';
import { type RegistryServer, startRegistryServer } from '../../../fixtures/registry-server';
import { newSigningKey, publishFakeApp } from '../../../fixtures/releases';

let regDir: string;
let reg: RegistryServer;
let host: TestHost;

const sup = async () => JSON.parse(await readFile(host.paths.supervisorState, 'utf8'));
const service = (action: string) => runAgent(['service', action, '--root', host.root]);
const echo = async () => JSON.parse((await httpGet(host.port, '/version'))?.body ?? '{}').env;

beforeAll(async () => {
  const key = newSigningKey();
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
  host = await makeHost(key.publicKey, { workers: 2 });
  const run = await runAgent(deployArgs(host, reg, await publishFakeApp(regDir, key, '1.0.0')));
  expect(run.result?.ok, run.stderr).toBe(true);
});

afterAll(async () => {
  await destroyHost(host);
  await reg.close();
  await rm(regDir, { recursive: true, force: true });
});

describe.sequential('supervisor', () => {
  it('restarts a worker that dies and shows the crash in supervisor.json', async () => {
    const before = await sup();
    const victim = before.workers[0].pid as number;
    process.kill(victim, 'SIGKILL');
    await expect
      .poll(
        async () => {
          const s = await sup();
          return (
            s.workers.filter((w: { state: string }) => w.state === 'listening').length === 2 &&
            s.crashes.total
          );
        },
        { timeout: 10_000 },
      )
      .toBe(1);
    const after = await sup();
    expect(after.workers.map((w: { pid: number }) => w.pid)).not.toContain(victim);
    expect(after.crashes.last).toContain(`worker ${victim} of 1.0.0 exited (SIGKILL)`);
    expect(after.generation).toBe(before.generation);
    expect(await servedVersion(host.port)).toBe('1.0.0');
  });

  it('reloads on request: a new generation of the same release, with a changed shared/.env', async () => {
    const before = await sup();
    expect(await echo()).toBeNull();
    await writeFile(host.paths.sharedEnv, '# secrets\nexport FIXTURE_ECHO="rotated value"\n');
    const run = await service('reload');
    expect(run.result, run.stderr).toMatchObject({ ok: true, action: 'reload', version: '1.0.0' });
    expect(run.result?.generation).toBe(before.generation + 1);
    expect(await echo()).toBe('rotated value');
  });

  it('start is idempotent; stop drains and removes the pidfile; start serves again', async () => {
    const again = await service('start');
    expect(again.result).toMatchObject({ ok: true, already: true });
    const pid = (await sup()).pid as number;

    const stopped = await service('stop');
    expect(stopped.result, stopped.stderr).toMatchObject({ ok: true, action: 'stop' });
    expect(isProcessAlive(pid)).toBe(false);
    await expect(readFile(host.paths.supervisorPid)).rejects.toThrow();
    expect((await sup()).phase).toBe('stopped');
    expect(await servedVersion(host.port)).toBeNull();
    const status = await service('status');
    expect(status.result).toMatchObject({ ok: true, running: false, pid: null });

    const started = await service('start');
    expect(started.result, started.stderr).toMatchObject({
      ok: true,
      already: false,
      version: '1.0.0',
      phase: 'serving',
    });
    expect(await servedVersion(host.port)).toBe('1.0.0');
    expect(await readFile(host.paths.serviceLog, 'utf8')).toContain('generation 1 (1.0.0) serving');
  });
});
