// A plain rollback whose `previous` release is no longer on disk (removed by hand to free space, or by an
// older agent's prune): it falls back to the newest good release installed before the current one,
// through the same gate, and marks the release it leaves bad. It never picks a bad one on the way.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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

const state = async () =>
  JSON.parse(await readFile(host.paths.state, 'utf8')) as { bad: string[]; previous: string | null };
const rollback = (...extra: string[]) =>
  runAgent(['rollback', '--root', host.root, '--who', 'tester@vitest', ...extra]);

beforeAll(async () => {
  const key = newSigningKey();
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
  host = await makeHost(key.publicKey);
  // 1.0.0 good, 2.0.0 fails its gate (bad), 3.0.0 good, 4.0.0 good and current; previous = 3.0.0.
  for (const [v, variant] of [
    ['1.0.0', 'ok'],
    ['2.0.0', 'unhealthy'],
    ['3.0.0', 'ok'],
    ['4.0.0', 'ok'],
  ] as const) {
    const run = await runAgent(
      deployArgs(host, reg, await publishFakeApp(regDir, key, v, variant), {
        extra: variant === 'ok' ? [] : ['--health-timeout', '1'],
      }),
    );
    expect(run.result?.ok, run.stderr).toBe(variant === 'ok');
  }
});

afterAll(async () => {
  await destroyHost(host);
  await reg.close();
  await rm(regDir, { recursive: true, force: true });
});

describe('rollback when previous is gone from disk', () => {
  it('falls back past the missing previous and the bad release to the newest good one installed', async () => {
    expect(await state()).toMatchObject({ previous: '3.0.0', bad: ['2.0.0'] });
    await rm(join(host.paths.releases, '3.0.0'), { recursive: true, force: true });

    const run = await rollback();
    expect(run.result, run.stderr).toMatchObject({ ok: true, version: '1.0.0', previous: '4.0.0' });
    expect(run.events.filter((e) => e.event === 'step').map((e) => e.step)).not.toContain('download');
    expect(await servedVersion(host.port)).toBe('1.0.0');
    const after = await state();
    expect(after.previous).toBe('4.0.0');
    expect(after.bad.sort()).toEqual(['2.0.0', '4.0.0']);
  });

  it('with nothing good left before current, refuses and changes nothing', async () => {
    const run = await rollback();
    expect(run.result?.ok).toBe(false);
    expect(run.result?.error.code).toBe('nothing_to_roll_back');
    expect(await servedVersion(host.port)).toBe('1.0.0');
  });
});
