// Through the CLI, on 2 local hosts: a release published before brotli (<app>-<version>.tar.gz) deploys,
// is rolled back to and verifies, next to a .tar.br one. `ferry deploy` presigns the artifact under the
// name the published manifest gives, never a name computed from the version.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releasePrefix } from '../../../pipeline/release/layout';
import { FIXTURE_APP } from '../../fixtures/releases';
import { answers, completeCurrent } from '../../reliability/support/host-checks';
import { ENV_NAME, type LocalEnv, startLocalEnv } from '../../reliability/support/local-env';

let env: LocalEnv;

beforeAll(async () => {
  env = await startLocalEnv({ hosts: 2 });
  await env.publish('1.0.0', 'ok', 'gzip');
  await env.publish('2.0.0');
  const setup = await env.ferry('setup', ENV_NAME);
  expect(setup.code, setup.stdout + setup.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await env?.close();
});

const registryFiles = (version: string) =>
  readdir(join(env.registryDir as string, ...releasePrefix(env.prefix, FIXTURE_APP, version).split('/')));

async function expectServing(version: string) {
  for (const h of env.hosts) {
    expect(await completeCurrent(h.paths), h.name).toBe(version);
    expect(await answers(h.port), h.name).toEqual({ health: 200, version });
  }
}

describe.sequential('ferry deploy, rollback and verify with .tar.gz and .tar.br releases', () => {
  it('publishes each under its own name', async () => {
    expect(await registryFiles('1.0.0')).toContain(`${FIXTURE_APP}-1.0.0.tar.gz`);
    expect(await registryFiles('2.0.0')).toContain(`${FIXTURE_APP}-2.0.0.tar.br`);
    expect(await registryFiles('2.0.0')).not.toContain(`${FIXTURE_APP}-2.0.0.tar.gz`);
  });

  it('deploys the .tar.gz release', async () => {
    const r = await env.ferry('deploy', ENV_NAME, '--version', '1.0.0');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectServing('1.0.0');
  });

  it('deploys the .tar.br release over it', async () => {
    const r = await env.ferry('deploy', ENV_NAME, '--version', '2.0.0');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectServing('2.0.0');
  });

  it('rolls back to the .tar.gz release', async () => {
    const r = await env.ferry('rollback', ENV_NAME);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectServing('1.0.0');
  });

  it('verifies both', async () => {
    for (const v of ['1.0.0', '2.0.0']) {
      const r = await env.ferry('verify', v, '--json');
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true });
    }
  });
});
