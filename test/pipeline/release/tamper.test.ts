// Sign, publish, then tamper with what is in the registry: each kind of tampering must fail verification,
// with the reason a host operator needs to see.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { publishRelease } from '../../../pipeline/publish/publish';
import { verifyPublished } from '../../../pipeline/publish/verify';
import { LocalRegistry } from '../../../pipeline/registry/local';
import { releaseKeys } from '../../../pipeline/release/layout';
import { type ReleaseManifest, serializeManifest } from '../../../pipeline/release/manifest';
import { generateSigningKeyPair, serializeSignature, signBytes } from '../../../pipeline/release/signing';
import { artifactKeyOf } from '../../fixtures/releases';
import { configFor, syntheticArtifact } from '../publish/synthetic';

const key = generateSigningKeyPair();
let dir: string;
let registry: LocalRegistry;
const keys = {
  ...releaseKeys('releases', 'fixture', '1.0.0'),
  artifact: artifactKeyOf('releases', 'fixture', '1.0.0'),
};
const keysB = {
  ...releaseKeys('releases', 'fixture', '1.0.1'),
  artifact: artifactKeyOf('releases', 'fixture', '1.0.1'),
};
const original = new Map<string, Buffer>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-tamper-'));
  registry = new LocalRegistry(join(dir, 'registry'));
  const config = configFor({ type: 'local', path: registry.root, prefix: 'releases' }, key.publicKey);
  for (const version of ['1.0.0', '1.0.1']) {
    const artifactPath = await syntheticArtifact(join(dir, 'dist'), {
      version,
      sourceMap: `{"version":3,"sources":["app/server.ts"],"mappings":"AAAA","x":"${version}"}`,
    });
    await publishRelease({ config, registry, privateKeyPem: key.privateKeyPem, artifactPath });
  }
  for (const k of [...Object.values(keys), ...Object.values(keysB)]) {
    const bytes = await registry.get(k);
    expect(bytes, k).not.toBeNull();
    original.set(k, bytes as Buffer);
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));
beforeEach(async () => {
  for (const [k, bytes] of original) await registry.put(k, bytes);
});

const verify = (version = '1.0.0', trusted = key.publicKey) =>
  verifyPublished(registry, 'releases', 'fixture', version, trusted);

describe('verifying a published release', () => {
  it('passes untouched', async () => {
    expect(await verify()).toMatchObject({ ok: true, manifest: { version: '1.0.0' } });
  });

  it('catches a flipped bit in the artifact: sha256 mismatch', async () => {
    const bytes = Buffer.from(original.get(keys.artifact) as Buffer);
    const mid = bytes.length >> 1;
    bytes[mid] = (bytes[mid] as number) ^ 0x01;
    await registry.put(keys.artifact, bytes);
    expect(await verify()).toEqual({ ok: false, reason: expect.stringMatching(/^artifact sha256 mismatch/) });
  });

  it('catches a source map replaced by another release’s: sha256 mismatch; a missing one', async () => {
    await registry.put(keys.sourceMap, original.get(keysB.sourceMap) as Buffer);
    expect(await verify()).toEqual({
      ok: false,
      reason: expect.stringMatching(/^source map sha256 mismatch: manifest says [0-9a-f]{64}, got/),
    });
    await registry.delete(keys.sourceMap);
    expect(await verify()).toEqual({ ok: false, reason: 'source map missing: fixture-1.0.0.js.map.gz' });
  });

  it('catches a truncated artifact: size mismatch', async () => {
    await registry.put(keys.artifact, (original.get(keys.artifact) as Buffer).subarray(0, 10));
    expect(await verify()).toEqual({ ok: false, reason: expect.stringMatching(/^artifact size mismatch/) });
  });

  it('catches a signed manifest naming an artifact no host can unpack', async () => {
    const m = JSON.parse((original.get(keys.manifest) as Buffer).toString()) as ReleaseManifest;
    const edited = serializeManifest({
      ...m,
      artifact: {
        ...(m.artifact as NonNullable<ReleaseManifest['artifact']>),
        file: 'fixture-1.0.0.tar.zst',
      },
    });
    await registry.put(keys.manifest, edited);
    await registry.put(keys.signature, serializeSignature(signBytes(edited, key.privateKeyPem)));
    expect(await verify()).toEqual({
      ok: false,
      reason:
        'manifest names the artifact fixture-1.0.0.tar.zst, which hosts cannot unpack (.tar.br or .tar.gz)',
    });
  });

  it('catches an edited manifest: the signature no longer matches', async () => {
    const edited = (original.get(keys.manifest) as Buffer)
      .toString()
      .replace('"node": ">=20"', '"node": ">=18"');
    await registry.put(keys.manifest, Buffer.from(edited));
    expect(await verify()).toEqual({
      ok: false,
      reason: 'signature does not match the manifest (edited or corrupted)',
    });
  });

  it('catches a manifest signed by another key', async () => {
    const other = generateSigningKeyPair();
    const sig = serializeSignature(signBytes(original.get(keys.manifest) as Buffer, other.privateKeyPem));
    await registry.put(keys.signature, sig);
    expect(await verify()).toEqual({ ok: false, reason: expect.stringMatching(/^signed by another key/) });
  });

  it('catches a missing signature', async () => {
    await registry.delete(keys.signature);
    expect(await verify()).toEqual({
      ok: false,
      reason: 'signature missing: the release has no manifest.json.sig',
    });
  });

  it('catches a validly signed manifest replayed under another version', async () => {
    await registry.put(keysB.manifest, original.get(keys.manifest) as Buffer);
    await registry.put(keysB.signature, original.get(keys.signature) as Buffer);
    expect(await verify('1.0.1')).toEqual({
      ok: false,
      reason: 'manifest is for fixture 1.0.0, expected fixture 1.0.1',
    });
  });

  it('fails for a host trusting a different key', async () => {
    const result = await verify('1.0.0', generateSigningKeyPair().publicKey);
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/^signed by another key/) });
  });
});
