// The RAM-role provider against the loopback metadata fake: the hardened token exchange, the documented
// JSON, caching and renewal before expiry, and what an operator sees when the role or service is missing.
import { afterEach, describe, expect, it } from 'vitest';
import {
  CredentialsError,
  ecsRamRoleCredentials,
  MetadataClient,
  parseRoleCredentials,
  refreshAt,
} from '../../../pipeline/credentials/ecs-metadata';
import { type FakeMetadata, startFakeMetadata } from '../../support/ecs-metadata';

let fake: FakeMetadata | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('ecsRamRoleCredentials', () => {
  it('gets a session token, then the role credentials, as the documented JSON', async () => {
    fake = await startFakeMetadata({ role: 'FerryHostRole' });
    const provider = ecsRamRoleCredentials({ role: 'FerryHostRole', endpoint: fake.endpoint });
    const creds = await provider();
    expect(creds).toEqual({
      accessKeyId: fake.current.AccessKeyId,
      accessKeySecret: fake.current.AccessKeySecret,
      securityToken: fake.current.SecurityToken,
      expiration: new Date(fake.current.Expiration),
    });
    expect(fake.counts).toMatchObject({ token: 1, credentials: 1, refused: 0 });
  });

  it('refuses requests without the session token (hardened mode is what the fake enforces)', async () => {
    fake = await startFakeMetadata({ role: 'FerryHostRole' });
    const res = await fetch(`${fake.endpoint}/latest/meta-data/ram/security-credentials/FerryHostRole`);
    expect(res.status).toBe(401);
    expect(fake.counts.refused).toBe(1);
  });

  it('discovers the role when none is named', async () => {
    fake = await startFakeMetadata({ role: 'AutoRole' });
    const creds = await ecsRamRoleCredentials({ endpoint: fake.endpoint })();
    expect(creds.accessKeyId).toBe(fake.current.AccessKeyId);
    expect(fake.counts.list).toBe(1);
  });

  it('serves cached credentials until they near expiry, then fetches the rotated ones', async () => {
    fake = await startFakeMetadata({ role: 'R', lifetimeSeconds: 3600 });
    let clock = Date.now();
    const provider = ecsRamRoleCredentials({ role: 'R', endpoint: fake.endpoint, now: () => clock });
    const first = await provider();
    clock += 50 * 60_000; // 10 minutes left: not yet
    expect(await provider()).toBe(first);
    expect(provider.fetches).toBe(1);

    const rotated = fake.rotate();
    clock += 6 * 60_000; // 4 minutes left: inside the 5-minute margin
    const second = await provider();
    expect(second.accessKeyId).toBe(rotated.AccessKeyId);
    expect(provider.fetches).toBe(2);
    // One session token served both fetches.
    expect(fake.counts.token).toBe(1);
  });

  it('shares one fetch between concurrent callers', async () => {
    fake = await startFakeMetadata({ role: 'R' });
    const provider = ecsRamRoleCredentials({ role: 'R', endpoint: fake.endpoint });
    const all = await Promise.all([provider(), provider(), provider()]);
    expect(new Set(all.map((c) => c.accessKeyId)).size).toBe(1);
    expect(fake.counts.credentials).toBe(1);
  });

  it('keeps serving still-valid credentials while the service is down, and fails once none are left', async () => {
    fake = await startFakeMetadata({ role: 'R', lifetimeSeconds: 3600 });
    let clock = Date.now();
    const provider = ecsRamRoleCredentials({
      role: 'R',
      endpoint: fake.endpoint,
      now: () => clock,
      attempts: 1,
    });
    const first = await provider();
    fake.setMode('down');
    clock += 56 * 60_000; // due for renewal, still valid for 4 minutes
    expect(await provider()).toBe(first);
    provider.invalidate();
    await expect(provider()).rejects.toThrow(/refused credentials \(HTTP 500\)/);
  });

  it('names the missing role, and an unreachable service, with a remedy', async () => {
    fake = await startFakeMetadata({ role: 'Other' });
    const err = await new MetadataClient({ role: 'Missing', endpoint: fake.endpoint })
      .fetchCredentials()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as CredentialsError).message).toMatch(/no RAM role "Missing"/);
    expect((err as CredentialsError).remedy).toMatch(/attach the role/);
    expect((err as CredentialsError).exitCode).toBe(3);

    const endpoint = fake.endpoint;
    await fake.close();
    fake = undefined;
    await expect(
      new MetadataClient({ role: 'R', endpoint, attempts: 2, timeoutMs: 500 }).fetchCredentials(),
    ).rejects.toThrow(/did not answer/);
  });
});

describe('credential parsing and renewal time', () => {
  it('accepts the documented JSON and refuses anything short of it', () => {
    const doc = {
      AccessKeyId: 'STS.NUgYrLnoC37mZZCNnAbez2Jog',
      AccessKeySecret: 'H8Kn2Yq6ZCT5K2cLqpqwekaGbmnZ6L9KnfeB7KhLzWz',
      Expiration: '2026-11-30T12:00:00Z',
      SecurityToken: 'CAISpQJ1q6Ft5B2yfSjIr5fUGs',
      LastUpdated: '2026-11-30T06:00:00Z',
      Code: 'Success',
    };
    expect(parseRoleCredentials(JSON.stringify(doc), 'R').expiration?.toISOString()).toBe(
      '2026-11-30T12:00:00.000Z',
    );
    expect(() => parseRoleCredentials(JSON.stringify({ ...doc, Code: 'Failed' }), 'R')).toThrow(
      /Code Failed/,
    );
    expect(() => parseRoleCredentials(JSON.stringify({ ...doc, SecurityToken: '' }), 'R')).toThrow(
      /incomplete/,
    );
    expect(() => parseRoleCredentials('<html>', 'R')).toThrow(/not JSON/);
  });

  it('renews 5 minutes before expiry, or at 80% of a short lifetime', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const hour = { accessKeyId: 'a', accessKeySecret: 'b', expiration: new Date(t0 + 3600_000) };
    expect(refreshAt(hour, t0)).toBe(t0 + 55 * 60_000);
    const short = { ...hour, expiration: new Date(t0 + 10 * 60_000) };
    expect(refreshAt(short, t0)).toBe(t0 + 8 * 60_000);
  });
});
