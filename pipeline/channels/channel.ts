// A channel: the signed statement "environment E of app A should run version V", one per environment,
// which hosts in pull mode converge to. It is signed with the release key (pipeline/release/signing.ts)
// and carries what The Update Framework's timestamp role carries against its two classic attacks:
//   * a sequence number that only grows, so a host refuses an older channel replayed at it (rollback);
//   * an expiry, so a host refuses a channel frozen in place past it (freeze): channels are re-issued
//     on a schedule shorter than their lifetime (docs/pull.md).
// The signature covers a domain tag plus the canonical JSON of every field but the signature itself, so a
// channel signature can never be mistaken for a manifest signature made with the same key.
import { checkVersion } from '../release/manifest';
import { keyIdOf, loadPrivateKey, signBytes, verifyBytes } from '../release/signing';

export const CHANNEL_SCHEMA = 1;
const DOMAIN = 'ferry-channel/1\n';

export interface ChannelBody {
  schema: number;
  app: string;
  env: string;
  version: string;
  /** Grows by one with every issue; hosts remember the highest they accepted. */
  sequence: number;
  issuedAt: string;
  expiresAt: string;
  /** Who issued it: a user, "ci:<job>". */
  by: string;
  /** Id of the public key that verifies it (keyIdOf). */
  keyId: string;
}

export interface Channel extends ChannelBody {
  algorithm: 'ed25519';
  /** base64 ed25519 signature over channelSigningBytes(body). */
  signature: string;
}

export type ChannelRefusal =
  | 'channel_invalid'
  | 'bad_signature'
  | 'channel_mismatch'
  | 'channel_expired'
  | 'channel_replayed';

export type ChannelVerdict =
  | { ok: true; channel: Channel }
  | { ok: false; code: ChannelRefusal; reason: string };

function body(c: ChannelBody): ChannelBody {
  return {
    schema: c.schema,
    app: c.app,
    env: c.env,
    version: c.version,
    sequence: c.sequence,
    issuedAt: c.issuedAt,
    expiresAt: c.expiresAt,
    by: c.by,
    keyId: c.keyId,
  };
}

/** The exact bytes the signature covers: fixed key order, no whitespace, a domain tag in front. */
export function channelSigningBytes(c: ChannelBody): Buffer {
  return Buffer.from(DOMAIN + JSON.stringify(body(c)));
}

export function signChannel(fields: Omit<ChannelBody, 'schema' | 'keyId'>, privateKeyPem: string): Channel {
  const { publicKey } = loadPrivateKey(privateKeyPem);
  const unsigned: ChannelBody = { schema: CHANNEL_SCHEMA, ...fields, keyId: keyIdOf(publicKey) };
  const problem = shapeProblem(unsigned);
  if (problem) throw new Error(`cannot issue this channel: ${problem}`);
  const sig = signBytes(channelSigningBytes(unsigned), privateKeyPem);
  return { ...body(unsigned), algorithm: 'ed25519', signature: sig.signature };
}

export function serializeChannel(c: Channel): Buffer {
  return Buffer.from(
    `${JSON.stringify({ ...body(c), algorithm: c.algorithm, signature: c.signature }, null, 2)}\n`,
  );
}

/** Shape only; the signature is checked by verifyChannel. Throws naming the first bad field. */
export function parseChannel(bytes: Buffer | string): Channel {
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString());
  } catch {
    throw new Error('channel is not valid JSON');
  }
  const c = data as Channel;
  const problem =
    typeof c !== 'object' || c === null
      ? 'must be an object'
      : (shapeProblem(c) ??
        (c.algorithm !== 'ed25519' || typeof c.signature !== 'string' || c.signature === ''
          ? 'signature is missing or not ed25519'
          : null));
  if (problem) throw new Error(`channel: ${problem}`);
  return { ...body(c), algorithm: 'ed25519', signature: c.signature };
}

function shapeProblem(c: ChannelBody): string | null {
  if (c.schema !== CHANNEL_SCHEMA) return `schema must be ${CHANNEL_SCHEMA}`;
  if (typeof c.app !== 'string' || c.app === '') return 'app must be a non-empty string';
  if (typeof c.env !== 'string' || c.env === '') return 'env must be a non-empty string';
  if (typeof c.version !== 'string' || checkVersion(c.version) !== null) return 'version is invalid';
  if (!Number.isSafeInteger(c.sequence) || c.sequence < 1) return 'sequence must be a positive integer';
  if (Number.isNaN(Date.parse(c.issuedAt))) return 'issuedAt must be an ISO time';
  if (Number.isNaN(Date.parse(c.expiresAt))) return 'expiresAt must be an ISO time';
  if (Date.parse(c.expiresAt) <= Date.parse(c.issuedAt)) return 'expiresAt must be after issuedAt';
  if (typeof c.by !== 'string') return 'by must be a string';
  if (typeof c.keyId !== 'string' || c.keyId === '') return 'keyId must be a non-empty string';
  return null;
}

export interface ChannelExpectations {
  trustedPublicKey: string;
  app: string;
  env: string;
  /** Milliseconds since the epoch. */
  now: number;
  /** The highest sequence this host accepted before, and the version it named. */
  accepted?: { sequence: number; version: string } | null;
}

/**
 * Everything a host checks before acting on a channel, in trust order: shape, signature (before any field
 * is believed), app and environment, expiry, then the sequence against the highest one accepted.
 */
export function verifyChannel(bytes: Buffer, want: ChannelExpectations): ChannelVerdict {
  let c: Channel;
  try {
    c = parseChannel(bytes);
  } catch (err) {
    return { ok: false, code: 'channel_invalid', reason: (err as Error).message };
  }
  const sig = JSON.stringify({ keyId: c.keyId, algorithm: c.algorithm, signature: c.signature });
  const verdict = verifyBytes(channelSigningBytes(c), sig, want.trustedPublicKey);
  if (!verdict.ok) {
    return {
      ok: false,
      code: 'bad_signature',
      reason: verdict.reason.replace('the manifest', 'the channel'),
    };
  }
  if (c.app !== want.app || c.env !== want.env) {
    return {
      ok: false,
      code: 'channel_mismatch',
      reason: `the channel is for ${c.app}/${c.env}, this host runs ${want.app}/${want.env}`,
    };
  }
  if (Date.parse(c.expiresAt) <= want.now) {
    return {
      ok: false,
      code: 'channel_expired',
      reason: `the channel (sequence ${c.sequence}, ${c.version}) expired at ${c.expiresAt}: it was not re-issued in time, or it is being held back`,
    };
  }
  const prev = want.accepted;
  if (prev && c.sequence < prev.sequence) {
    return {
      ok: false,
      code: 'channel_replayed',
      reason: `the channel's sequence ${c.sequence} (${c.version}) is older than ${prev.sequence} (${prev.version}), already accepted here`,
    };
  }
  if (prev && c.sequence === prev.sequence && c.version !== prev.version) {
    return {
      ok: false,
      code: 'channel_replayed',
      reason: `sequence ${c.sequence} was accepted here for ${prev.version}; this channel names ${c.version} under the same number`,
    };
  }
  return { ok: true, channel: c };
}
