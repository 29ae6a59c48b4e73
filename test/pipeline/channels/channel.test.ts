// Channel documents: canonical signed bytes, and every refusal a host makes (forged, foreign, expired,
// replayed), plus issuing them in a registry with a sequence that only grows.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Channel,
  channelSigningBytes,
  parseChannel,
  serializeChannel,
  signChannel,
  verifyChannel,
} from '../../../pipeline/channels/channel';
import { issueChannel, readChannel } from '../../../pipeline/channels/issue';
import { LocalRegistry } from '../../../pipeline/registry/local';
import { channelKey } from '../../../pipeline/release/layout';
import { generateSigningKeyPair, signBytes } from '../../../pipeline/release/signing';

const key = generateSigningKeyPair();
const other = generateSigningKeyPair();
const T0 = Date.parse('2026-11-30T12:00:00Z');
const fields = {
  app: 'storage',
  env: 'production',
  version: '1.4.0',
  sequence: 7,
  issuedAt: new Date(T0).toISOString(),
  expiresAt: new Date(T0 + 7 * 86400_000).toISOString(),
  by: 'ci:deploy#42',
};
const want = { trustedPublicKey: key.publicKey, app: 'storage', env: 'production', now: T0 + 1000 };
const bytesOf = (c: Channel) => serializeChannel(c);
const edit = (c: Channel, patch: Partial<Channel>) => Buffer.from(JSON.stringify({ ...c, ...patch }));

describe('channel documents', () => {
  const channel = signChannel(fields, key.privateKeyPem);

  it('round-trips, and verifies with the release key', () => {
    expect(parseChannel(bytesOf(channel))).toEqual(channel);
    expect(channel).toMatchObject({ schema: 1, algorithm: 'ed25519', ...fields });
    expect(verifyChannel(bytesOf(channel), want)).toEqual({ ok: true, channel });
  });

  it('signs a domain tag plus canonical JSON, so key order or whitespace in the file does not matter', () => {
    expect(channelSigningBytes(channel).toString()).toBe(
      `ferry-channel/1\n{"schema":1,"app":"storage","env":"production","version":"1.4.0","sequence":7,"issuedAt":"${fields.issuedAt}","expiresAt":"${fields.expiresAt}","by":"ci:deploy#42","keyId":"${channel.keyId}"}`,
    );
    const reordered = Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(channel).reverse())));
    expect(verifyChannel(reordered, want).ok).toBe(true);
  });

  it('refuses any edited field, another key, and a manifest-style signature over the same JSON', () => {
    for (const patch of [{ version: '6.6.6' }, { sequence: 99 }, { expiresAt: '2099-01-01T00:00:00.000Z' }]) {
      expect(verifyChannel(edit(channel, patch), want)).toMatchObject({ ok: false, code: 'bad_signature' });
    }
    const foreign = signChannel(fields, other.privateKeyPem);
    expect(verifyChannel(bytesOf(foreign), want)).toMatchObject({
      ok: false,
      code: 'bad_signature',
      reason: expect.stringMatching(/signed by another key/),
    });
    // The same key signing the JSON without the domain tag (as it signs manifests) does not make a channel.
    const plain = signBytes(
      channelSigningBytes(channel).subarray('ferry-channel/1\n'.length),
      key.privateKeyPem,
    );
    expect(verifyChannel(edit(channel, { signature: plain.signature }), want)).toMatchObject({
      code: 'bad_signature',
    });
  });

  it("refuses another environment's or app's channel", () => {
    const staging = signChannel({ ...fields, env: 'staging' }, key.privateKeyPem);
    expect(verifyChannel(bytesOf(staging), want)).toMatchObject({ code: 'channel_mismatch' });
    expect(verifyChannel(bytesOf(channel), { ...want, app: 'other' })).toMatchObject({
      code: 'channel_mismatch',
    });
  });

  it('refuses an expired channel (freeze), at the second it expires', () => {
    const at = Date.parse(fields.expiresAt);
    expect(verifyChannel(bytesOf(channel), { ...want, now: at - 1 }).ok).toBe(true);
    expect(verifyChannel(bytesOf(channel), { ...want, now: at })).toMatchObject({ code: 'channel_expired' });
  });

  it('refuses a sequence below the accepted one, or the same number naming another version (replay)', () => {
    const accepted = (sequence: number, version = '1.4.0') => ({ ...want, accepted: { sequence, version } });
    expect(verifyChannel(bytesOf(channel), accepted(6)).ok).toBe(true);
    expect(verifyChannel(bytesOf(channel), accepted(7)).ok).toBe(true);
    expect(verifyChannel(bytesOf(channel), accepted(8))).toMatchObject({
      code: 'channel_replayed',
      reason: expect.stringMatching(/sequence 7 \(1\.4\.0\) is older than 8/),
    });
    expect(verifyChannel(bytesOf(channel), accepted(7, '1.3.0'))).toMatchObject({ code: 'channel_replayed' });
  });

  it('refuses malformed documents before looking at the signature', () => {
    expect(verifyChannel(Buffer.from('nope'), want)).toMatchObject({ code: 'channel_invalid' });
    expect(verifyChannel(edit(channel, { sequence: 0 }), want)).toMatchObject({
      code: 'channel_invalid',
      reason: 'channel: sequence must be a positive integer',
    });
    expect(verifyChannel(edit(channel, { version: '../etc' }), want)).toMatchObject({
      code: 'channel_invalid',
    });
    expect(() => signChannel({ ...fields, expiresAt: fields.issuedAt }, key.privateKeyPem)).toThrow(
      /expiresAt must be after issuedAt/,
    );
  });
});

describe('issuing channels in a registry', () => {
  let dir: string;
  let registry: LocalRegistry;
  const issue = (version: string, extra: { sequence?: number } = {}) =>
    issueChannel(registry, {
      prefix: 'releases',
      app: 'storage',
      env: 'production',
      version,
      ttlSeconds: 3600,
      by: 'alice@laptop',
      privateKeyPem: key.privateKeyPem,
      trustedPublicKey: key.publicKey,
      ...extra,
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-channels-'));
    registry = new LocalRegistry(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('starts at 1 and adds one per issue, whatever the version', async () => {
    expect((await issue('1.0.0')).channel.sequence).toBe(1);
    const second = await issue('1.0.0');
    expect(second.channel.sequence).toBe(2);
    expect(second.previous?.sequence).toBe(1);
    const third = await issue('0.9.0');
    expect(third.channel).toMatchObject({ sequence: 3, version: '0.9.0', by: 'alice@laptop' });
    const stored = await readChannel(registry, 'releases', 'storage', 'production', key.publicKey);
    expect(stored).toMatchObject({ signatureOk: true, channel: { sequence: 3 } });
  });

  it('refuses to build on a channel that does not verify, unless given a sequence above it', async () => {
    const forged = signChannel({ ...fields, sequence: 50, version: '6.6.6' }, other.privateKeyPem);
    await writeFile(join(dir, channelKey('releases', 'storage', 'production')), serializeChannel(forged));
    await expect(issue('1.0.0')).rejects.toThrow(/does not verify: signed by another key/);
    const recovered = await issue('1.0.0', { sequence: 60 });
    expect(recovered.channel.sequence).toBe(60);
    await expect(issue('1.0.0', { sequence: 60 })).rejects.toThrow(/not above the current channel's 60/);
  });
});
