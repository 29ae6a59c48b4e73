// ed25519 signatures over the published manifest bytes. Public keys travel as one short string
// ("ed25519:<base64url of the raw 32-byte key>") so they fit in releases.yaml and on a host in one line;
// private keys stay PKCS#8 PEM and come from the environment or a file outside the repo.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';

const PREFIX = 'ed25519:';

export interface SignatureFile {
  /** Which key signed: lets a host say "signed by another key" instead of a bare "bad signature". */
  keyId: string;
  algorithm: 'ed25519';
  signature: string;
}

export function generateSigningKeyPair(): { publicKey: string; privateKeyPem: string; keyId: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = encodePublicKey(publicKey);
  return {
    publicKey: pub,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    keyId: keyIdOf(pub),
  };
}

export function encodePublicKey(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('not an ed25519 public key');
  return PREFIX + jwk.x;
}

export function decodePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (!trimmed.startsWith(PREFIX)) throw new Error(`public key must start with "${PREFIX}"`);
  const x = trimmed.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]{43}$/.test(x)) throw new Error('public key is not 32 bytes of base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

/** Short, stable id of a public key: the first 16 hex digits of sha256 over its text form. */
export function keyIdOf(publicKey: string): string {
  return createHash('sha256').update(publicKey.trim()).digest('hex').slice(0, 16);
}

export function loadPrivateKey(pem: string): { key: KeyObject; publicKey: string } {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new Error('the signing key is not a PEM private key (expected the output of `ferry keygen`)');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the signing key is not an ed25519 key');
  return { key, publicKey: encodePublicKey(createPublicKey(key)) };
}

export function signBytes(bytes: Buffer, privateKeyPem: string): SignatureFile {
  const { key, publicKey } = loadPrivateKey(privateKeyPem);
  return {
    keyId: keyIdOf(publicKey),
    algorithm: 'ed25519',
    signature: sign(null, bytes, key).toString('base64'),
  };
}

export function serializeSignature(sig: SignatureFile): Buffer {
  return Buffer.from(
    `${JSON.stringify({ keyId: sig.keyId, algorithm: sig.algorithm, signature: sig.signature })}\n`,
  );
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** Checks a signature file against the trusted public key; the reason says which check failed. */
export function verifyBytes(
  bytes: Buffer,
  signatureFile: Buffer | string | null,
  trustedPublicKey: string,
): VerifyResult {
  if (signatureFile === null)
    return { ok: false, reason: 'signature missing: the release has no manifest.json.sig' };
  let sig: SignatureFile;
  try {
    sig = JSON.parse(signatureFile.toString()) as SignatureFile;
  } catch {
    return { ok: false, reason: 'signature file is not valid JSON' };
  }
  if (sig.algorithm !== 'ed25519' || typeof sig.signature !== 'string') {
    return { ok: false, reason: 'signature file is malformed (expected an ed25519 signature)' };
  }
  const trustedId = keyIdOf(trustedPublicKey);
  if (sig.keyId !== trustedId) {
    return { ok: false, reason: `signed by another key (${sig.keyId}); this host trusts ${trustedId}` };
  }
  const ok = verify(null, bytes, decodePublicKey(trustedPublicKey), Buffer.from(sig.signature, 'base64'));
  return ok
    ? { ok: true }
    : { ok: false, reason: 'signature does not match the manifest (edited or corrupted)' };
}
