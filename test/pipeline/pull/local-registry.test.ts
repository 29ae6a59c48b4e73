// `agent sync` against a local registry folder (file://, read directly, no credentials), run from source:
// convergence, a push in progress left alone, another environment's channel refused, and the host's
// memory of accepted channels failing closed when damaged.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullPaths } from '../../../pipeline/agent/pull/config';
import { parseHostStatus } from '../../../pipeline/channels/host-status';
import { issueChannel } from '../../../pipeline/channels/issue';
import { pullConfigJson } from '../../../pipeline/commands/pull-config';
import { acquireEnvLock, envLockKey } from '../../../pipeline/deploy/env-lock';
import { LocalRegistry } from '../../../pipeline/registry/local';
import { hostStatusKey } from '../../../pipeline/release/layout';
import { destroyHost, makeHost, runAgent, servedVersion, type TestHost } from '../../fixtures/agent-host';
import { newSigningKey, publishFakeApp } from '../../fixtures/releases';

const key = newSigningKey();
let host: TestHost;
let regDir: string;
let registry: LocalRegistry;
const sync = () => runAgent(['sync', '--root', host.root]);
const promote = (version: string, env = 'prod') =>
  issueChannel(registry, {
    prefix: 'releases',
    app: 'storage',
    env,
    version,
    ttlSeconds: 600,
    by: 'test',
    privateKeyPem: key.privateKeyPem,
    trustedPublicKey: key.publicKey,
  });

beforeAll(async () => {
  host = await makeHost(key.publicKey);
  regDir = join(host.root, '..', `${host.root.split('/').pop()}-registry`);
  await mkdir(regDir, { recursive: true });
  registry = new LocalRegistry(regDir);
  await publishFakeApp(regDir, key, '1.0.0');
  await publishFakeApp(regDir, key, '2.0.0');
  // As published before artifacts were brotli: storage-3.0.0.tar.gz.
  await publishFakeApp(regDir, key, '3.0.0', 'ok', 'storage', undefined, 'gzip');
});

afterAll(async () => {
  await destroyHost(host);
  await rm(regDir, { recursive: true, force: true });
});

describe('agent sync with a local registry', () => {
  it('says how to set pull mode up when pull.json is missing', async () => {
    const r = await sync();
    expect(r.code).toBe(3);
    expect(r.result).toMatchObject({ ok: false, error: { code: 'config' } });
    expect(r.result?.error.remedy).toMatch(/ferry setup <env> --pull/);
  });

  it('converges to the channel, reading the folder directly, and reports into it', async () => {
    await writeFile(
      pullPaths(host.paths).config,
      pullConfigJson({
        app: 'storage',
        env: 'prod',
        host: 'web-1',
        registry: { type: 'local', path: regDir, prefix: 'releases' },
        credentials: { type: 'none' },
      }),
    );
    await promote('1.0.0');
    const r = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ ok: true, result: 'ok', changed: true, current: '1.0.0' });
    // The artifact's URL is made from the name the signed manifest gives: .tar.br for a new release.
    expect(r.events.find((e) => e.step === 'download')?.url).toMatch(
      /^file:\/\/.*\/storage-1\.0\.0\.tar\.br$/,
    );
    expect(await servedVersion(host.port)).toBe('1.0.0');
    const status = parseHostStatus(
      (await registry.get(hostStatusKey('releases', 'storage', 'prod', 'web-1')))!,
    );
    expect(status).toMatchObject({ host: 'web-1', version: '1.0.0', result: 'ok', acceptedSequence: 1 });
  });

  it('leaves the host alone while a push rollout holds the environment lock', async () => {
    await promote('2.0.0');
    const held = await acquireEnvLock(registry, envLockKey('releases', 'storage', 'prod'), {
      env: 'prod',
      who: 'ci:job-3',
      op: 'deploy',
      ttlSeconds: 60,
    });
    try {
      const r = await sync();
      expect(r.code).toBe(0);
      expect(r.result).toMatchObject({
        result: 'skipped',
        note: { code: 'push_in_progress' },
        current: '1.0.0',
      });
    } finally {
      await held.release();
    }
    expect((await sync()).result).toMatchObject({ ok: true, changed: true, current: '2.0.0' });
  });

  it('converges to a release published as .tar.gz, and from it to a .tar.br one, by the names their manifests sign', async () => {
    await promote('3.0.0');
    const old = await sync();
    expect(old.result, old.stderr).toMatchObject({ ok: true, changed: true, current: '3.0.0' });
    expect(old.events.find((e) => e.step === 'download')?.url).toMatch(/\/storage-3\.0\.0\.tar\.gz$/);
    expect(await servedVersion(host.port)).toBe('3.0.0');

    await promote('2.0.0');
    const back = await sync();
    expect(back.result, back.stderr).toMatchObject({ ok: true, changed: true, current: '2.0.0' });
    // 2.0.0 is still on disk: reused, not downloaded again.
    expect(back.events.find((e) => e.step === 'download')).toMatchObject({ reused: true });
    expect(await servedVersion(host.port)).toBe('2.0.0');
  });

  it("refuses another environment's channel copied over this one", async () => {
    const { channel } = await promote('1.0.0', 'staging');
    const prodKey = 'releases/storage/channels/prod.json';
    const genuine = (await registry.get(prodKey)) as Buffer;
    await registry.put(prodKey, Buffer.from(JSON.stringify(channel)));
    const r = await sync();
    expect(r.code).toBe(5);
    expect(r.result).toMatchObject({ result: 'refused', error: { code: 'channel_mismatch' } });
    expect(await servedVersion(host.port)).toBe('2.0.0');
    await registry.put(prodKey, genuine);
  });

  it('fails closed when its record of accepted channels is damaged', async () => {
    await promote('1.0.0');
    await writeFile(pullPaths(host.paths).channel, '{"sequence": "lots"}');
    const r = await sync();
    expect(r.code).toBe(3);
    expect(r.result?.error.message).toMatch(/channel\.json is damaged/);
    expect(await servedVersion(host.port)).toBe('2.0.0');
  });
});
