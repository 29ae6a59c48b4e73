// An app not written for Ferry has no /version. With `versionPath: null` in service.json the gate is a
// 2xx on the health path of each new worker's private port: deploys and rollbacks still go through it,
// a release that fails its health path is still refused before traffic, and status still names the
// release serving (from the supervisor, which knows which generation it gated).
import { mkdtemp, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../../pipeline/exit-codes';
import {
  deployArgs,
  destroyHost,
  httpGet,
  makeHost,
  runAgent,
  type TestHost,
} from '../../../fixtures/agent-host';
import { type RegistryServer, startRegistryServer } from '../../../fixtures/registry-server';
import { newSigningKey, type Published, publishFakeApp } from '../../../fixtures/releases';

let regDir: string;
let reg: RegistryServer;
let host: TestHost;
let strict: TestHost;
const rel: Record<string, Published> = {};

beforeAll(async () => {
  const key = newSigningKey();
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
  rel.first = await publishFakeApp(regDir, key, '1.0.0', 'no-version');
  rel.second = await publishFakeApp(regDir, key, '1.1.0', 'no-version');
  rel.sick = await publishFakeApp(regDir, key, '1.2.0', 'unhealthy');
  host = await makeHost(key.publicKey, { workers: 2, versionPath: null });
  strict = await makeHost(key.publicKey, { workers: 1 });
});

afterAll(async () => {
  await destroyHost(host);
  await destroyHost(strict);
  await reg.close();
  await rm(regDir, { recursive: true, force: true });
});

describe.sequential('a health-only gate (service.json versionPath: null)', () => {
  it('deploys an app that has no /version, and a second release over it', async () => {
    for (const r of [rel.first, rel.second] as Published[]) {
      const run = await runAgent(deployArgs(host, reg, r));
      expect(run.result, run.stderr).toMatchObject({ ok: true, version: r.version });
      expect(await readlink(host.paths.current)).toBe(`releases/${r.version}`);
    }
    expect((await httpGet(host.port, '/version'))?.status).toBe(404);
    expect((await httpGet(host.port, '/healthz'))?.status).toBe(200);
  });

  it('status reports the release serving, as the supervisor knows it', async () => {
    const run = await runAgent(['status', '--root', host.root]);
    expect(run.result?.health).toMatchObject({ ok: true, version: '1.1.0', versionFrom: 'supervisor' });
    expect(run.result?.service).toMatchObject({ version: '1.1.0', phase: 'serving' });
  });

  it('still refuses a release whose health path fails, before it takes traffic', async () => {
    const run = await runAgent(
      deployArgs(host, reg, rel.sick as Published, { extra: ['--health-timeout', '2'] }),
    );
    expect(run.code).toBe(ExitCode.Unhealthy);
    expect(run.result).toMatchObject({ ok: false, error: { code: 'health_failed' } });
    expect(await readlink(host.paths.current)).toBe('releases/1.1.0');
    expect((await httpGet(host.port, '/healthz'))?.status).toBe(200);
  });

  it('rolls back through the same gate', async () => {
    const run = await runAgent(['rollback', '--root', host.root, '--who', 'tester@vitest']);
    expect(run.result, run.stderr).toMatchObject({ ok: true, version: '1.0.0' });
    expect(await readlink(host.paths.current)).toBe('releases/1.0.0');
  });

  it('with the default versionPath, the same app is refused: the setting is what lets it through', async () => {
    const run = await runAgent(
      deployArgs(strict, reg, rel.first as Published, { extra: ['--health-timeout', '2'] }),
    );
    expect(run.code).toBe(ExitCode.Unhealthy);
    expect(run.result?.error?.details?.probe).toMatchObject({ ok: true, status: 200, version: null });
  });
});
