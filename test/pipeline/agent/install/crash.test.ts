// The agent SIGKILLed mid-deploy (FERRY_AGENT_CRASH_AT, test-only): the journal it wrote before the step
// lets the next run clean up or undo. `current` is valid at every moment. A fuller matrix builds on this.
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
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
import { newSigningKey, type Published, publishFakeApp } from '../../../fixtures/releases';

let regDir: string;
let reg: RegistryServer;
let host: TestHost;
const rel: Record<string, Published> = {};

const journal = async () => JSON.parse(await readFile(host.paths.journal, 'utf8'));

beforeAll(async () => {
  const key = newSigningKey();
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
  host = await makeHost(key.publicKey);
  for (const v of ['1.0.0', '2.0.0', '3.0.0', '4.0.0']) rel[v] = await publishFakeApp(regDir, key, v);
  const run = await runAgent(deployArgs(host, reg, rel['1.0.0'] as Published));
  expect(run.result?.ok, run.stderr).toBe(true);
});

afterAll(async () => {
  await destroyHost(host);
  await reg.close();
  await rm(regDir, { recursive: true, force: true });
});

describe.sequential('agent killed mid-deploy', () => {
  it('at unpack: the next deploy recovers, succeeds and leaves no debris', async () => {
    const crashed = await runAgent(deployArgs(host, reg, rel['2.0.0'] as Published), {
      env: { FERRY_AGENT_CRASH_AT: 'unpack' },
    });
    expect(crashed.signal).toBe('SIGKILL');
    expect(crashed.result).toBeUndefined();
    expect(await journal()).toMatchObject({ op: 'deploy', version: '2.0.0', from: '1.0.0', step: 'unpack' });
    expect((await readdir(host.paths.tmp)).some((n) => n.startsWith('download-2.0.0-'))).toBe(true);
    expect(await servedVersion(host.port)).toBe('1.0.0');

    // The dead agent's lock is broken (its pid is gone), the journal read, the debris swept.
    const run = await runAgent(deployArgs(host, reg, rel['2.0.0'] as Published));
    expect(run.result, run.stderr).toMatchObject({ ok: true, version: '2.0.0', previous: '1.0.0' });
    expect(run.events.find((e) => e.step === 'recover')).toMatchObject({
      leftoverStep: 'unpack',
      version: '2.0.0',
    });
    expect(await readdir(host.paths.tmp)).toEqual([]);
    await expect(readFile(host.paths.journal)).rejects.toThrow();
    expect(await servedVersion(host.port)).toBe('2.0.0');
    const notes = (await readFile(host.paths.history, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(notes.map((n) => n.op)).toEqual(expect.arrayContaining(['unlock', 'recover']));
  });

  it('at switch: `current` still points at a complete release, and `recover` finishes the cleanup', async () => {
    const crashed = await runAgent(deployArgs(host, reg, rel['3.0.0'] as Published), {
      env: { FERRY_AGENT_CRASH_AT: 'switch' },
    });
    expect(crashed.signal).toBe('SIGKILL');
    expect(await readlink(host.paths.current)).toBe('releases/2.0.0');
    expect(await readdir(join(host.paths.root, 'current'))).toContain('manifest.json');
    expect(await servedVersion(host.port)).toBe('2.0.0');

    const status = await runAgent(['status', '--root', host.root]);
    expect(status.result?.journal).toMatchObject({ step: 'switch', version: '3.0.0' });
    const run = await runAgent(['recover', '--root', host.root]);
    expect(run.result, run.stderr).toMatchObject({ ok: true, recovered: { action: 'undone' } });
    expect(await readlink(host.paths.current)).toBe('releases/2.0.0');
    expect(await servedVersion(host.port)).toBe('2.0.0');
  });

  it('at health: the new release was switched to but never verified; the next run switches back', async () => {
    const crashed = await runAgent(deployArgs(host, reg, rel['4.0.0'] as Published), {
      env: { FERRY_AGENT_CRASH_AT: 'health' },
    });
    expect(crashed.signal).toBe('SIGKILL');
    expect(await readlink(host.paths.current)).toBe('releases/4.0.0');
    expect(await journal()).toMatchObject({ step: 'health', version: '4.0.0', from: '2.0.0' });

    const run = await runAgent(['recover', '--root', host.root, '--who', 'ops@host']);
    expect(run.result, run.stderr).toMatchObject({ ok: true, recovered: { action: 'undone' } });
    expect(await readlink(host.paths.current)).toBe('releases/2.0.0');
    expect(await servedVersion(host.port)).toBe('2.0.0');
    // The crash was the agent's, not the release's: it is not marked bad and deploys normally.
    const again = await runAgent(deployArgs(host, reg, rel['4.0.0'] as Published));
    expect(again.result, again.stderr).toMatchObject({
      ok: true,
      version: '4.0.0',
      previous: '2.0.0',
      reused: true,
    });
    expect(await servedVersion(host.port)).toBe('4.0.0');
  });
});
