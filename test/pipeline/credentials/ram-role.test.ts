// OSS_RAM_ROLE wired through the CLI's registry (ali-oss with its refreshSTSToken hook) and through the
// storage service (its CredentialsProvider), both against the strict OSS server and the metadata fake.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OssRegistryConfig } from '../../../pipeline/config/resolve';
import { ecsRamRoleCredentials } from '../../../pipeline/credentials/ecs-metadata';
import { createRegistry } from '../../../pipeline/registry/create-registry';
import { OssRegistry } from '../../../pipeline/registry/oss';
import { startApp, upload } from '../../app/support';
import { type FakeMetadata, startFakeMetadata } from '../../support/ecs-metadata';
import { type OssServer, startOssServer } from '../../support/oss-server';

let oss: OssServer;
let meta: FakeMetadata;
let config: OssRegistryConfig;

beforeAll(async () => {
  oss = await startOssServer({ bucket: 'ferry-ram' });
  meta = await startFakeMetadata({ role: 'FerryCiRole', oss });
  config = {
    type: 'oss',
    bucket: 'ferry-ram',
    region: 'oss-cn-shenzhen',
    prefix: 'releases',
    endpoint: oss.endpoints.public as string,
    internalEndpoint: oss.endpoints.internal as string,
    cname: true,
  };
});
afterAll(async () => {
  await meta.close();
  await oss.close();
});

describe("the CLI's registry with OSS_RAM_ROLE", () => {
  it('uses STS credentials from the metadata service, with no keys in the environment', async () => {
    const registry = createRegistry(config, {
      OSS_RAM_ROLE: 'FerryCiRole',
      ECS_METADATA_ENDPOINT: meta.endpoint,
    });
    await registry.put('releases/a.txt', Buffer.from('a'));
    expect((await registry.get('releases/a.txt'))?.toString()).toBe('a');
    expect((await registry.list('releases/')).map((o) => o.key)).toEqual(['releases/a.txt']);
    const url = await registry.presign('releases/a.txt', { expiresSeconds: 60 });
    expect(new URL(url).searchParams.get('security-token')).toBe(meta.current.SecurityToken);
    expect(await (await fetch(url)).text()).toBe('a');
    expect(new Set(oss.log.map((e) => e.accessKeyId).filter(Boolean))).toEqual(
      new Set([meta.current.AccessKeyId]),
    );
  });

  it('renews credentials before they expire: after a rotation, the refreshed ones are used', async () => {
    let clock = Date.now();
    const provider = ecsRamRoleCredentials({
      role: 'FerryCiRole',
      endpoint: meta.endpoint,
      now: () => clock,
    });
    const registry = new OssRegistry(config, provider, { retry: { retries: 0 } });
    await registry.put('releases/b.txt', Buffer.from('b'));
    const rotated = meta.rotate(); // the old credentials are revoked on the OSS server at once

    // Still cached and not yet due: OSS refuses them, which shows the next success is the refresh's doing.
    await expect(registry.get('releases/b.txt')).rejects.toThrow(/SecurityTokenExpired/);
    clock += 56 * 60_000;
    expect((await registry.get('releases/b.txt'))?.toString()).toBe('b');
    const url = await registry.presign('releases/b.txt', { expiresSeconds: 60 });
    expect(await (await fetch(url)).text()).toBe('b');
    expect(oss.log.at(-1)?.accessKeyId).toBe(rotated.AccessKeyId);
  });
});

describe('the storage service with OSS_RAM_ROLE', () => {
  it('needs no OSS keys and stores through the role credentials', async () => {
    const o = oss.clientOptions('public');
    const backend = {
      kind: 'oss' as const,
      oss,
      env: {
        STORAGE_BACKEND: 'oss',
        OSS_BUCKET: o.bucket,
        OSS_ENDPOINT: o.endpoint,
        OSS_CNAME: 'true',
        OSS_RAM_ROLE: 'FerryCiRole',
        ECS_METADATA_ENDPOINT: meta.endpoint,
      },
      written: async () => [...oss.objects().keys()],
      close: async () => {},
    };
    const before = meta.counts.credentials;
    const svc = await startApp(backend);
    try {
      expect(svc.config.storage).toMatchObject({ ramRole: 'FerryCiRole', accessKeyId: '' });
      const file = await upload(svc, 'alice', 'hello.txt', 'hi there');
      const res = await fetch(`${svc.base}/v1/files/${file.id}/content`, {
        headers: await svc.auth('alice'),
      });
      expect(await res.text()).toBe('hi there');
      expect(meta.counts.credentials).toBeGreaterThan(before);
      const ids = new Set(oss.log.filter((e) => e.op === 'PutObject').map((e) => e.accessKeyId));
      expect(ids.has(meta.current.AccessKeyId)).toBe(true);
    } finally {
      await svc.close();
    }
  });
});
