// The agent's own OSS V1 signer against the strict OSS test server, which checks signatures and STS
// tokens the way OSS does: header-signed GET and PUT, presigned GETs, awkward keys, refused credentials,
// and STS credentials from the metadata fake surviving a rotation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecsRamRoleCredentials } from '../../../pipeline/credentials/ecs-metadata';
import { OssObjectClient, OssRequestError } from '../../../pipeline/credentials/oss-object';
import { objectUrl, presignedGetUrl, stringToSign } from '../../../pipeline/credentials/oss-sign';
import { staticCredentials } from '../../../pipeline/credentials/types';
import { type FakeMetadata, startFakeMetadata } from '../../support/ecs-metadata';
import { type OssServer, startOssServer } from '../../support/oss-server';

let oss: OssServer;
let keys: { accessKeyId: string; accessKeySecret: string };
const loc = () => ({ endpoint: oss.endpoints.internal as string, bucket: oss.bucket, cname: true });

beforeAll(async () => {
  oss = await startOssServer({ bucket: 'ferry-signer' });
  keys = { accessKeyId: oss.accessKeyId, accessKeySecret: oss.accessKeySecret };
});
afterAll(() => oss.close());

describe('OSS V1 signing', () => {
  it('builds the string to sign in the documented order', () => {
    expect(
      stringToSign({
        method: 'PUT',
        contentMd5: 'md5==',
        contentType: 'application/json',
        date: 'Mon, 30 Nov 2026 12:00:00 GMT',
        ossHeaders: { 'X-OSS-Security-Token': ' tok ', 'x-oss-date': 'D', 'content-type': 'ignored' },
        resource: '/b/k',
      }),
    ).toBe(
      'PUT\nmd5==\napplication/json\nMon, 30 Nov 2026 12:00:00 GMT\nx-oss-date:D\nx-oss-security-token:tok\n/b/k',
    );
  });

  it('addresses the bucket by host name unless the endpoint is its own domain', () => {
    const virtual = { endpoint: 'https://oss-cn-shenzhen-internal.aliyuncs.com', bucket: 'b', cname: false };
    expect(objectUrl(virtual, 'a b/ü+.json').href).toBe(
      'https://b.oss-cn-shenzhen-internal.aliyuncs.com/a%20b/%C3%BC%2B.json',
    );
    expect(objectUrl({ ...virtual, cname: true }, 'k').href).toBe(
      'https://oss-cn-shenzhen-internal.aliyuncs.com/k',
    );
  });

  it('GETs and PUTs with a long-term key, and reads a missing object as null', async () => {
    const client = new OssObjectClient(loc(), staticCredentials(keys));
    const key = 'releases/storage/status/prod/web 1+ü.json';
    await client.put(key, Buffer.from('{"ok":true}\n'));
    expect(oss.getObject(key)?.contentType).toBe('application/json');
    expect((await client.get(key))?.toString()).toBe('{"ok":true}\n');
    expect(await client.get('releases/none.json')).toBeNull();
    const url = await client.presign(key, 60);
    expect(await (await fetch(url)).text()).toBe('{"ok":true}\n');
  });

  it('is refused with a wrong secret, at once (no retries for a 403)', async () => {
    const client = new OssObjectClient(loc(), staticCredentials({ ...keys, accessKeySecret: 'wrong' }));
    const before = oss.log.length;
    const err = await client.get('anything').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OssRequestError);
    expect((err as OssRequestError).code).toBe('SignatureDoesNotMatch');
    expect(oss.log.length - before).toBe(1);
    const expired = presignedGetUrl(loc(), 'anything', keys, Math.floor(Date.now() / 1000) - 10);
    expect((await fetch(expired)).status).toBe(403);
  });

  describe('with STS credentials from the metadata service', () => {
    let meta: FakeMetadata;
    beforeAll(async () => {
      meta = await startFakeMetadata({ role: 'FerryHostRole', oss });
      oss.putObject('channels/prod.json', '{"v":1}');
    });
    afterAll(() => meta.close());

    it('sends the token with header-signed and presigned requests', async () => {
      const provider = ecsRamRoleCredentials({ role: 'FerryHostRole', endpoint: meta.endpoint });
      const client = new OssObjectClient(loc(), provider);
      expect((await client.get('channels/prod.json'))?.toString()).toBe('{"v":1}');
      const url = new URL(await client.presign('channels/prod.json', 300));
      expect(url.searchParams.get('security-token')).toBe(meta.current.SecurityToken);
      expect(await (await fetch(url)).text()).toBe('{"v":1}');
      const ids = oss.log.filter((e) => e.key === 'channels/prod.json').map((e) => e.accessKeyId);
      expect(ids.at(-1)).toBe(meta.current.AccessKeyId);
    });

    it('after a rotation, the old credentials are refused and the provider-backed client recovers', async () => {
      const provider = ecsRamRoleCredentials({ role: 'FerryHostRole', endpoint: meta.endpoint });
      const client = new OssObjectClient(loc(), provider);
      await client.get('channels/prod.json');
      const old = await provider();
      const rotated = meta.rotate();

      const pinned = new OssObjectClient(loc(), staticCredentials(old));
      const err = await pinned.get('channels/prod.json').catch((e: unknown) => e);
      expect((err as OssRequestError).code).toBe('SecurityTokenExpired');

      // Its cache still holds the old credentials: OSS refuses them, the client drops them and refetches.
      expect((await client.get('channels/prod.json'))?.toString()).toBe('{"v":1}');
      expect(oss.log.at(-1)?.accessKeyId).toBe(rotated.AccessKeyId);
      expect(provider.fetches).toBe(2);
    });
  });
});
