// The health gate runs BEFORE traffic: a new generation is probed on private loopback ports and gets user
// connections only once every worker passed. A release that listens but answers 500 everywhere never
// serves a single user request, and the host says why it was refused.
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../../pipeline/exit-codes';
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

beforeAll(async () => {
  const key = newSigningKey();
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
  rel.good = await publishFakeApp(regDir, key, '1.0.0');
  rel.broken = await publishFakeApp(regDir, key, '2.0.0', 'broken');
  rel.crash = await publishFakeApp(regDir, key, '2.1.0', 'crash');
  rel.next = await publishFakeApp(regDir, key, '3.0.0');
  host = await makeHost(key.publicKey, { workers: 2 });
  const first = await runAgent(deployArgs(host, reg, rel.good as Published));
  expect(first.result?.ok, first.stderr).toBe(true);
});

afterAll(async () => {
  await destroyHost(host);
  await reg.close();
  await rm(regDir, { recursive: true, force: true });
});

const state = async () => JSON.parse(await readFile(host.paths.state, 'utf8'));

describe.sequential('the gate before traffic', () => {
  it('a release that answers 500 everywhere serves no user request, under load, and is marked bad', async () => {
    const load = hammer(host.port, { concurrency: 6 });
    await new Promise((r) => setTimeout(r, 300));
    const run = await runAgent(
      deployArgs(host, reg, rel.broken as Published, { extra: ['--health-timeout', '3'] }),
    );
    await new Promise((r) => setTimeout(r, 300));
    const report = await load.stop();

    expect(run.code).toBe(ExitCode.Unhealthy);
    expect(run.result).toMatchObject({
      ok: false,
      version: '2.0.0',
      rolledBack: true,
      error: { step: 'health', code: 'health_failed' },
    });
    expect(report.requests).toBeGreaterThan(100);
    expect(report.errorSamples).toEqual([]);
    expect({ non2xx: report.non2xx, errors: report.errors }).toEqual({ non2xx: 0, errors: 0 });
    expect(Object.keys(report.versions)).toEqual(['1.0.0']);
    expect(await readlink(host.paths.current)).toBe('releases/1.0.0');
    expect(await servedVersion(host.port)).toBe('1.0.0');
    expect((await state()).bad).toContain('2.0.0');
  });

  it('says why: the failing health answer and the new workers last output lines', async () => {
    const run = await runAgent(
      deployArgs(host, reg, rel.broken as Published, { extra: ['--health-timeout', '2', '--allow-bad'] }),
    );
    const details = run.result?.error?.details;
    expect(details?.probe).toMatchObject({ status: 500 });
    expect(details?.probe?.body).toContain('InvalidAccessKeyId');
    expect(details?.output.join('\n')).toContain('storage credential rejected');
    expect(run.result?.error?.message).toContain('HTTP 500');

    const crash = await runAgent(deployArgs(host, reg, rel.crash as Published));
    expect(crash.result?.error).toMatchObject({ code: 'reload_failed', step: 'reload' });
    expect(crash.result?.error?.details?.output.join('\n')).toContain('crashing on start, as asked');
    expect(crash.result?.error?.details?.output.length).toBeLessThanOrEqual(40);
    expect(await servedVersion(host.port)).toBe('1.0.0');
  });

  it('the switch back after a refused release restarts nothing: the old generation never stopped', async () => {
    const before = JSON.parse(await readFile(host.paths.supervisorState, 'utf8'));
    const run = await runAgent(
      deployArgs(host, reg, rel.broken as Published, { extra: ['--health-timeout', '1', '--allow-bad'] }),
    );
    expect(run.result?.rollback).toMatchObject({ ok: true, to: '1.0.0' });
    const after = JSON.parse(await readFile(host.paths.supervisorState, 'utf8'));
    expect(after.generation).toBe(before.generation);
    expect(after.workers.map((w: { pid: number }) => w.pid).sort()).toEqual(
      before.workers.map((w: { pid: number }) => w.pid).sort(),
    );
    expect(after.lastReload).toMatchObject({ ok: true, unchanged: true, version: '1.0.0' });
  });

  it('a good release then takes over at once, and its workers listen only on private loopback ports', async () => {
    const load = hammer(host.port, { concurrency: 6 });
    const run = await runAgent(deployArgs(host, reg, rel.next as Published));
    const report = await load.stop();
    expect(run.result?.ok, run.stdout).toBe(true);
    expect({ non2xx: report.non2xx, errors: report.errors }).toEqual({ non2xx: 0, errors: 0 });
    expect(await servedVersion(host.port)).toBe('3.0.0');
    const sup = JSON.parse(await readFile(host.paths.supervisorState, 'utf8'));
    const serving = sup.workers.filter((w: { state: string }) => w.state === 'listening');
    expect(serving).toHaveLength(2);
    for (const w of serving) {
      expect(w.privatePort).not.toBe(host.port);
      expect(await servedVersion(w.privatePort)).toBe('3.0.0');
    }
  });
});
