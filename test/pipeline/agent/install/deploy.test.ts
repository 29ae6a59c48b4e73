// One host through a life of deploys: first install, a zero-downtime upgrade under load, releases that
// fail their gate (and are switched back by the agent itself), prune after failures, and rollbacks.
// Tests in this file run in order and share the host; each states what it starts from.
import { lstat, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../../pipeline/exit-codes';
import {
  type AgentJson,
  deployArgs,
  destroyHost,
  httpGet,
  makeHost,
  runAgent,
  servedVersion,
  type TestHost,
} from '../../../fixtures/agent-host';
import { hammer } from '../../../fixtures/load';
import { type RegistryServer, startRegistryServer } from '../../../fixtures/registry-server';
import { newSigningKey, type Published, publishFakeApp, type SigningKey } from '../../../fixtures/releases';

let key: SigningKey;
let regDir: string;
let reg: RegistryServer;
let host: TestHost;
const rel: Record<string, Published> = {};

const readJson = async (p: string) => JSON.parse(await readFile(p, 'utf8'));
const state = () => readJson(host.paths.state);
const agent = (...args: string[]) =>
  runAgent([...args.slice(0, 1), '--root', host.root, '--who', 'tester@vitest', ...args.slice(1)]);

beforeAll(async () => {
  key = newSigningKey();
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
  host = await makeHost(key.publicKey, { workers: 2, keepReleases: 5 });
  await writeFile(host.paths.sharedEnv, 'FIXTURE_ECHO=from-shared-env\n');
  for (const [v, variant] of [
    ['1.0.0', 'ok'],
    ['2.0.0', 'ok'],
    ['3.0.0', 'unhealthy'],
    ['4.0.0', 'crash'],
    ['4.1.0', 'wrong-version'],
    ['5.0.0', 'ok'],
  ] as const) {
    rel[v] = await publishFakeApp(regDir, key, v, variant);
  }
});

afterAll(async () => {
  await destroyHost(host);
  await reg.close();
  await rm(regDir, { recursive: true, force: true });
});

describe.sequential('agent deploy, rollback and prune on one host', () => {
  it('installs a first release: verified, read-only, linked, switched, serving, recorded', async () => {
    const run = await runAgent(deployArgs(host, reg, rel['1.0.0'] as Published));
    expect(run.result, run.stderr).toMatchObject({
      event: 'result',
      ok: true,
      op: 'deploy',
      version: '1.0.0',
      previous: null,
    });
    expect(run.code).toBe(ExitCode.Ok);
    const steps = run.events.filter((e) => e.event === 'step').map((e) => e.step);
    expect(steps).toEqual(['verify', 'download', 'unpack', 'link', 'switch', 'reload', 'health', 'prune']);
    // Presigned query strings never reach the output.
    expect(run.stdout).not.toContain('Signature=');

    expect(await readlink(host.paths.current)).toBe('releases/1.0.0');
    const dir = join(host.paths.releases, '1.0.0');
    expect((await lstat(join(dir, 'app', 'index.js'))).mode & 0o777).toBe(0o444);
    expect(await readlink(join(dir, 'data'))).toBe('../../shared/data');
    expect(await readlink(join(dir, '.env'))).toBe('../../shared/.env');
    expect(await servedVersion(host.port)).toBe('1.0.0');
    // shared/.env reaches the workers' environment.
    expect(JSON.parse((await httpGet(host.port, '/version'))?.body ?? '{}').env).toBe('from-shared-env');

    expect(await state()).toEqual({ bad: [], lastGood: '1.0.0', previous: null });
    expect(await readdir(host.paths.tmp)).toEqual([]);
    await expect(lstat(host.paths.journal)).rejects.toThrow();
    await expect(lstat(host.paths.lock)).rejects.toThrow();
    const history = (await readFile(host.paths.history, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(history.at(-1)).toMatchObject({
      op: 'deploy',
      version: '1.0.0',
      from: null,
      result: 'ok',
      who: 'tester@vitest',
    });
  });

  it('upgrades to 2.0.0 under load with no failed request, an in-flight slow request finishing', async () => {
    const before = await readJson(host.paths.supervisorState);
    const load = hammer(host.port, { concurrency: 8 });
    await new Promise((r) => setTimeout(r, 300));
    const slow = httpGet(host.port, '/slow?ms=1500');
    // file:// URLs: the local registry path.
    const run = await runAgent(deployArgs(host, reg, rel['2.0.0'] as Published, { file: true }));
    await new Promise((r) => setTimeout(r, 300));
    const report = await load.stop();
    expect(run.result, run.stderr).toMatchObject({ ok: true, version: '2.0.0', previous: '1.0.0' });
    expect(report.errors, report.errorSamples.join('; ')).toBe(0);
    expect(report.non2xx).toBe(0);
    expect(report.requests).toBeGreaterThan(50);
    // Both versions answered during the run: the switch happened under load, not around it.
    expect(report.versions['1.0.0']).toBeGreaterThan(0);
    expect(report.versions['2.0.0']).toBeGreaterThan(0);
    expect(await slow).toEqual({ status: 200, body: 'slow done' });
    expect(await servedVersion(host.port)).toBe('2.0.0');

    const sup = await readJson(host.paths.supervisorState);
    expect(sup.generation).toBeGreaterThan(before.generation);
    expect(sup.version).toBe('2.0.0');
    const listening = sup.workers.filter((w: { state: string }) => w.state === 'listening');
    expect(listening.map((w: { generation: number }) => w.generation)).toEqual([
      sup.generation,
      sup.generation,
    ]);
    // The replaced workers stay up out of rotation, as the warm standby a rollback returns to.
    expect(sup.standby).toMatchObject({ generation: before.generation, version: '1.0.0' });
    expect(
      sup.workers
        .filter((w: { state: string }) => w.state === 'standby')
        .map((w: { generation: number }) => w.generation),
    ).toEqual([before.generation, before.generation]);
    expect(await state()).toEqual({ bad: [], lastGood: '2.0.0', previous: '1.0.0' });
  });

  it('reports the host in status', async () => {
    const run = await agent('status');
    expect(run.code).toBe(0);
    const s = run.result as AgentJson;
    expect(s).toMatchObject({
      ok: true,
      op: 'status',
      current: '2.0.0',
      previous: '1.0.0',
      lastGood: '2.0.0',
      bad: [],
      protocol: expect.any(Number),
      agentVersion: expect.any(String),
      lock: null,
      journal: null,
      health: { ok: true, version: '2.0.0' },
      service: { mode: 'process', running: true, phase: 'serving', version: '2.0.0' },
      lastAction: { op: 'deploy', version: '2.0.0', result: 'ok' },
    });
    expect(s.releases.map((r: { version: string }) => r.version)).toEqual(['1.0.0', '2.0.0']);
    expect(s.releases[1]).toMatchObject({
      version: '2.0.0',
      bad: false,
      current: true,
      installedAt: expect.any(String),
    });
    expect(s.service.pid).toBeGreaterThan(0);
  });

  it('switches back by itself when the new release fails its health check, and marks it bad', async () => {
    const run = await runAgent(
      deployArgs(host, reg, rel['3.0.0'] as Published, { extra: ['--health-timeout', '2'] }),
    );
    expect(run.code).toBe(ExitCode.Unhealthy);
    expect(run.result).toMatchObject({
      ok: false,
      version: '3.0.0',
      previous: '2.0.0',
      rolledBack: true,
      rollback: { ok: true, to: '2.0.0' },
      error: { step: 'health', code: 'health_failed' },
    });
    expect(run.result?.error.message).toContain('HTTP 500');
    expect(await readlink(host.paths.current)).toBe('releases/2.0.0');
    expect(await servedVersion(host.port)).toBe('2.0.0');
    expect((await state()).bad).toEqual(['3.0.0']);

    const again = await runAgent(deployArgs(host, reg, rel['3.0.0'] as Published));
    expect(again.result?.error).toMatchObject({ code: 'bad_release' });
    expect(again.result?.error.remedy).toContain('--allow-bad');
  });

  it('switches back when the new release crashes on start, and when it reports another version', async () => {
    const crash = await runAgent(deployArgs(host, reg, rel['4.0.0'] as Published));
    expect(crash.result).toMatchObject({ ok: false, rolledBack: true, error: { code: 'reload_failed' } });
    expect(await servedVersion(host.port)).toBe('2.0.0');

    const wrong = await runAgent(
      deployArgs(host, reg, rel['4.1.0'] as Published, { extra: ['--health-timeout', '2'] }),
    );
    expect(wrong.result).toMatchObject({ ok: false, rolledBack: true, error: { code: 'health_failed' } });
    expect(wrong.result?.error.message).toContain('4.1.0-wrong');
    expect(await servedVersion(host.port)).toBe('2.0.0');
    expect(await state()).toEqual({ bad: ['3.0.0', '4.0.0', '4.1.0'], lastGood: '2.0.0', previous: '1.0.0' });
  });

  it('prunes by rule after failed deploys: the newest (failed) go, current and previous stay', async () => {
    const run = await agent('prune', '--keep', '1');
    expect(run.result, run.stderr).toMatchObject({ ok: true, keep: 1 });
    expect([...((run.result?.removed as string[]) ?? [])].sort()).toEqual(['3.0.0', '4.0.0', '4.1.0']);
    expect((await readdir(host.paths.releases)).sort()).toEqual(['1.0.0', '2.0.0']);
    expect(await servedVersion(host.port)).toBe('2.0.0');
  });

  it('rolls back without downloading, marking the release it leaves bad', async () => {
    const deployed = await runAgent(deployArgs(host, reg, rel['5.0.0'] as Published));
    expect(deployed.result).toMatchObject({ ok: true, version: '5.0.0', previous: '2.0.0' });
    const hitsBefore = reg.totalHits();
    const run = await agent('rollback');
    expect(run.result, run.stderr).toMatchObject({
      ok: true,
      op: 'rollback',
      version: '2.0.0',
      previous: '5.0.0',
      markedBad: '5.0.0',
    });
    expect(reg.totalHits()).toBe(hitsBefore);
    expect(await readlink(host.paths.current)).toBe('releases/2.0.0');
    expect(await servedVersion(host.port)).toBe('2.0.0');
    expect(await state()).toMatchObject({ lastGood: '2.0.0', previous: '5.0.0' });
    expect((await state()).bad).toContain('5.0.0');
  });

  it('never rolls back onto a bad release: previous (5.0.0) is bad, so it walks back to 1.0.0', async () => {
    const run = await agent('rollback');
    expect(run.result, run.stderr).toMatchObject({ ok: true, version: '1.0.0', previous: '2.0.0' });
    expect(await servedVersion(host.port)).toBe('1.0.0');
    // Nothing good is left behind 1.0.0.
    const none = await agent('rollback', '--no-mark-bad');
    expect(none.code).toBe(ExitCode.Failure);
    expect(none.result?.error).toMatchObject({ code: 'nothing_to_roll_back' });
    expect(none.result?.error.remedy).toContain('5.0.0 (bad)');
  });

  it('rolls back to a named release with --to, --allow-bad and --no-mark-bad', async () => {
    const refused = await agent('rollback', '--to', '5.0.0');
    expect(refused.result?.error).toMatchObject({ code: 'bad_release' });
    const run = await agent('rollback', '--to', '5.0.0', '--allow-bad', '--no-mark-bad');
    expect(run.result, run.stderr).toMatchObject({
      ok: true,
      version: '5.0.0',
      previous: '1.0.0',
      markedBad: null,
    });
    expect(await servedVersion(host.port)).toBe('5.0.0');
    const s = await state();
    expect(s.bad).not.toContain('5.0.0');
    expect(s.bad).not.toContain('1.0.0');
    const missing = await agent('rollback', '--to', '3.0.0', '--allow-bad');
    expect(missing.result?.error).toMatchObject({ code: 'not_installed' });
  });

  it('lists history as JSON', async () => {
    const run = await agent('history', '--limit', '3');
    const entries = run.result?.entries as { op: string; time: string }[];
    expect(entries).toHaveLength(3);
    expect(entries.at(-2)).toMatchObject({ op: 'rollback', version: '5.0.0', from: '1.0.0', result: 'ok' });
    expect(entries.at(-1)).toMatchObject({
      op: 'rollback',
      version: '3.0.0',
      result: 'failed',
      error: { code: 'not_installed' },
    });
  });
});
