// A long rollout never hands a host an expired URL: the CLI presigns the release's URLs afresh before
// each batch. Proven against the strict OSS server, which refuses a presigned URL after its Expires, with
// URLs valid for 3 s (urlTtlSeconds) and hosts whose app takes 4 s to boot: batch 1's URLs have expired
// before batch 2 downloads, so only fresh ones can succeed.
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKeyOf, FIXTURE_APP } from '../../fixtures/releases';
import { answers } from '../../reliability/support/host-checks';
import { ENV_NAME, type LocalEnv, startLocalEnv } from '../../reliability/support/local-env';
import { type OssServer, startOssServer } from '../../support/oss-server';

const TTL_SECONDS = 3;
const BOOT_MS = 4000;
let oss: OssServer;
let env: LocalEnv;

beforeAll(async () => {
  oss = await startOssServer({ bucket: 'ferry-releases' });
  env = await startLocalEnv({ hosts: 3, oss });
  const yaml = await readFile(env.configFile, 'utf8');
  await writeFile(
    env.configFile,
    yaml.replace('lockTtlSeconds: 30', `lockTtlSeconds: 30\n    urlTtlSeconds: ${TTL_SECONDS}`),
  );
  for (const v of ['1.0.0', '2.0.0']) await env.publish(v);
  const setup = await env.ferry('setup', ENV_NAME);
  expect(setup.code, setup.stdout + setup.stderr).toBe(0);
  const first = await env.ferry('deploy', ENV_NAME, '--version', '1.0.0');
  expect(first.code, first.stdout + first.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await env?.close();
  await oss?.close();
});

describe('presigned URLs in a rollout of 3 batches', () => {
  it('are fresh for each batch: every host downloads after the first batch URLs expired, and succeeds', async () => {
    // A slow boot on every host, read at the next reload: each batch takes longer than a URL lives.
    for (const h of env.hosts) await writeFile(h.paths.sharedEnv, `FIXTURE_START_DELAY_MS=${BOOT_MS}\n`);
    oss.resetStats();
    const r = await env.ferry('deploy', ENV_NAME, '--version', '2.0.0');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const h of env.hosts)
      expect(await answers(h.port), h.name).toEqual({ health: 200, version: '2.0.0' });

    const artifact = artifactKeyOf(env.prefix, FIXTURE_APP, '2.0.0');
    const gets = oss.log.filter((e) => e.port === 'internal' && e.method === 'GET' && e.key === artifact);
    expect(gets.map((e) => e.status)).toEqual([200, 200, 200]);
    // The premise: the last host fetched more than a URL's lifetime after the first one did, so a URL
    // presigned once for the whole rollout would have been refused as expired there.
    const first = gets[0]?.time as number;
    const last = gets.at(-1)?.time as number;
    expect(last - first).toBeGreaterThan(TTL_SECONDS * 1000);
    expect(oss.log.filter((e) => e.port === 'internal' && e.status === 403)).toEqual([]);
  });
});
