import { describe, expect, it } from 'vitest';
import {
  checkVersion,
  isSafeRelativePath,
  parseManifest,
  type ReleaseManifest,
  serializeManifest,
} from '../../../pipeline/release/manifest';
import {
  decodePublicKey,
  generateSigningKeyPair,
  keyIdOf,
  serializeSignature,
  signBytes,
  verifyBytes,
} from '../../../pipeline/release/signing';

const manifest: ReleaseManifest = {
  schema: 1,
  name: 'demo',
  version: '1.0.0',
  commit: 'abc',
  buildTime: '2026-11-30T00:00:00.000Z',
  node: '>=20',
  entry: 'app/index.js',
  files: [
    { path: 'manifest.json', size: 3, sha256: 'b'.repeat(64) },
    { path: 'app/index.js', size: 10, sha256: 'a'.repeat(64) },
  ],
  artifact: { file: 'demo-1.0.0.tar.gz', size: 100, sha256: 'c'.repeat(64) },
};

describe('manifest', () => {
  it('serializes deterministically whatever the key and file order', () => {
    const shuffled = { ...manifest, files: [...manifest.files].reverse() };
    expect(serializeManifest(shuffled).equals(serializeManifest(manifest))).toBe(true);
    const parsed = parseManifest(serializeManifest(manifest));
    expect(parsed.files.map((f) => f.path)).toEqual(['app/index.js', 'manifest.json']);
    expect(parsed.artifact?.sha256).toBe('c'.repeat(64));
  });

  it('rejects unsafe paths and versions', () => {
    for (const p of ['../x', '/etc/passwd', 'a/../b', 'a//b', 'a\\b', '', 'a/./b']) {
      expect(isSafeRelativePath(p), p).toBe(false);
    }
    expect(isSafeRelativePath('app/index.js')).toBe(true);
    expect(checkVersion('1.2.3-rc.1')).toBeNull();
    expect(checkVersion('../1')).toMatch(/not a valid version/);
    expect(checkVersion('a/b')).toMatch(/not a valid version/);
    const bad = JSON.parse(serializeManifest(manifest).toString());
    bad.files[0].path = '../../etc/cron.d/x';
    expect(() => parseManifest(JSON.stringify(bad))).toThrow(/unsafe file path/);
  });
});

describe('signing', () => {
  const keys = generateSigningKeyPair();
  const bytes = serializeManifest(manifest);

  it('round-trips a signature and decodes the public key form', () => {
    const sig = serializeSignature(signBytes(bytes, keys.privateKeyPem));
    expect(verifyBytes(bytes, sig, keys.publicKey)).toEqual({ ok: true });
    expect(decodePublicKey(keys.publicKey).asymmetricKeyType).toBe('ed25519');
    expect(keys.keyId).toBe(keyIdOf(keys.publicKey));
  });

  it('says which check failed for each tamper', () => {
    const sig = serializeSignature(signBytes(bytes, keys.privateKeyPem));
    const edited = Buffer.from(bytes.toString().replace('"1.0.0"', '"1.0.1"'));
    expect(verifyBytes(edited, sig, keys.publicKey)).toMatchObject({ ok: false, reason: /does not match/ });
    expect(verifyBytes(bytes, null, keys.publicKey)).toMatchObject({ ok: false, reason: /missing/ });
    const other = generateSigningKeyPair();
    const otherSig = serializeSignature(signBytes(bytes, other.privateKeyPem));
    expect(verifyBytes(bytes, otherSig, keys.publicKey)).toMatchObject({ ok: false, reason: /another key/ });
    expect(verifyBytes(bytes, 'not json', keys.publicKey)).toMatchObject({ ok: false, reason: /JSON/ });
  });
});
