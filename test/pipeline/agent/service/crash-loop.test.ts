// The supervisor on its own, with no deploy to help: a worker that keeps crashing is restarted with a
// growing delay (and the count shows in supervisor.json), and a host whose app cannot start yet (a missing
// dependency) is `failing` until the dependency appears, then heals by itself.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
import { type RegistryServer, startRegistryServer } from '../../../fixtures/registry-server';
import { newSigningKey, publishFakeApp } from '../../../fixtures/releases';

let regDir: string;
let reg: RegistryServer;
let host: TestHost;
const sup = async () => JSON.parse(await readFile(host.paths.supervisorState, 'utf8'));
const service = (action: string) => runAgent(['service', action, '--root', host.root]);

beforeAll(async () => {
  const key = newSigningKey();
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
  host = await makeHost(key.publicKey, { workers: 1, env: { FIXTURE_REQUIRE_ENV: 'FIXTURE_DB_URL' } });
  await writeFile(host.paths.sharedEnv, 'FIXTURE_DB_URL=postgres://db\n');
  const run = await runAgent(deployArgs(host, reg, await publishFakeApp(regDir, key, '1.0.0')));
  expect(run.result?.ok, run.stderr).toBe(true);
});

afterAll(async () => {
  await destroyHost(host);
  await reg.close();
  await rm(regDir, { recursive: true, force: true });
});

describe.sequential('the supervisor without a deploy', () => {
  it('restarts a crash-looping worker with a doubling delay, and a reload that fixes it resets the count', async () => {
    await writeFile(host.paths.sharedEnv, 'FIXTURE_DB_URL=postgres://db\nFIXTURE_CRASH_AFTER_MS=200\n');
    expect((await service('reload')).result?.ok).toBe(true);
    const delays: number[] = [];
    await expect
      .poll(
        async () => {
          const s = await sup();
          const d = s.crashes.nextRestartMs as number;
          if (s.crashes.consecutive > 0 && delays.at(-1) !== d) delays.push(d);
          return s.crashes.consecutive;
        },
        { timeout: 20_000, interval: 50 },
      )
      .toBeGreaterThanOrEqual(4);
    // 250 ms, then twice as long after each further crash in a row.
    expect(delays.slice(0, 4)).toEqual([250, 500, 1000, 2000]);
    const looping = await sup();
    expect(looping.crashes.last).toMatch(/worker \d+ of 1\.0\.0 exited \(code 3\)/);

    await writeFile(host.paths.sharedEnv, 'FIXTURE_DB_URL=postgres://db\n');
    expect((await service('reload')).result?.ok).toBe(true);
    const healed = await sup();
    expect(healed.phase).toBe('serving');
    expect(healed.crashes.consecutive).toBe(0);
    expect(await servedVersion(host.port)).toBe('1.0.0');
  });

  it('a host whose app cannot start yet is failing, then heals by itself when the dependency appears', async () => {
    expect((await service('stop')).result?.ok).toBe(true);
    await writeFile(host.paths.sharedEnv, '# the database is not there yet\n');
    const start = await service('start');
    expect(start.result?.ok).toBe(false);
    const failing = await sup();
    expect(failing.phase).toBe('failing');
    expect(failing.lastReload).toMatchObject({ ok: false });
    expect(failing.lastReload.failure.output.join('\n')).toContain('FIXTURE_DB_URL is not set');
    expect(await servedVersion(host.port)).toBeNull();

    // No ferry command from here on: the supervisor retries with backoff and re-reads shared/.env.
    await writeFile(host.paths.sharedEnv, 'FIXTURE_DB_URL=postgres://db\n');
    await expect.poll(async () => (await sup()).phase, { timeout: 20_000, interval: 100 }).toBe('serving');
    const healed = await sup();
    expect(healed.lastReload).toMatchObject({ ok: true, reason: 'retry', version: '1.0.0' });
    expect(await servedVersion(host.port)).toBe('1.0.0');
  });
});
