// Checks a published release the way a host must before running it: the signature over manifest.json by
// the trusted key, the manifest names the expected app and version (a validly signed manifest copied under
// another version's folder must not pass), and the artifact's size and sha256 match the manifest, and so
// does every runtime the manifest pins, and the source map beside the artifact (which hosts never fetch,
// but `ferry trace` trusts).
import { sha256 } from '../build/hash';
import type { Registry } from '../registry/registry';
import { artifactFormat, artifactKey, releaseKeys, runtimeKey } from '../release/layout';
import { parseManifest, type ReleaseManifest, type RuntimeArch } from '../release/manifest';
import { verifyBytes } from '../release/signing';

export type ReleaseCheck = { ok: true; manifest: ReleaseManifest } | { ok: false; reason: string };

export interface ReleaseParts {
  manifest: Buffer | null;
  signature: Buffer | null;
  artifact: Buffer | null;
}

export function verifyRelease(
  parts: ReleaseParts,
  trustedPublicKey: string,
  expect: { name: string; version: string },
): ReleaseCheck {
  if (parts.manifest === null)
    return { ok: false, reason: 'manifest missing: the release has no manifest.json' };
  const sig = verifyBytes(parts.manifest, parts.signature, trustedPublicKey);
  if (!sig.ok) return sig;
  let manifest: ReleaseManifest;
  try {
    manifest = parseManifest(parts.manifest);
  } catch (err) {
    return { ok: false, reason: `manifest is invalid: ${(err as Error).message}` };
  }
  if (manifest.name !== expect.name || manifest.version !== expect.version) {
    return {
      ok: false,
      reason: `manifest is for ${manifest.name} ${manifest.version}, expected ${expect.name} ${expect.version}`,
    };
  }
  if (!manifest.artifact)
    return { ok: false, reason: 'manifest has no artifact entry (not a published manifest)' };
  if (artifactFormat(manifest.artifact.file) === null) {
    return {
      ok: false,
      reason: `manifest names the artifact ${manifest.artifact.file}, which hosts cannot unpack (.tar.br or .tar.gz)`,
    };
  }
  if (parts.artifact === null) return { ok: false, reason: `artifact missing: ${manifest.artifact.file}` };
  if (parts.artifact.length !== manifest.artifact.size) {
    return {
      ok: false,
      reason: `artifact size mismatch: manifest says ${manifest.artifact.size} bytes, got ${parts.artifact.length}`,
    };
  }
  const actual = sha256(parts.artifact);
  if (actual !== manifest.artifact.sha256) {
    return {
      ok: false,
      reason: `artifact sha256 mismatch: manifest says ${manifest.artifact.sha256}, got ${actual}`,
    };
  }
  return { ok: true, manifest };
}

export async function verifyPublished(
  registry: Registry,
  prefix: string,
  app: string,
  version: string,
  trustedPublicKey: string,
): Promise<ReleaseCheck> {
  const keys = releaseKeys(prefix, app, version);
  const [manifest, signature] = await Promise.all([
    registry.get(keys.manifest),
    registry.get(keys.signature),
  ]);
  // Only fetch the (large) artifact once the small files check out.
  const early = verifyRelease({ manifest, signature, artifact: Buffer.alloc(0) }, trustedPublicKey, {
    name: app,
    version,
  });
  if (!early.ok && !/^artifact/.test(early.reason)) return early;
  // Past the early check the manifest parses and names its artifact: .tar.br, or .tar.gz when older.
  const file = (parseManifest(manifest as Buffer).artifact as NonNullable<ReleaseManifest['artifact']>).file;
  const check = verifyRelease(
    { manifest, signature, artifact: await registry.get(artifactKey(prefix, app, version, file)) },
    trustedPublicKey,
    {
      name: app,
      version,
    },
  );
  if (!check.ok) return check;
  const problem =
    (await checkRuntimes(registry, prefix, check.manifest)) ??
    (await checkSourceMap(registry, keys.sourceMap, check.manifest));
  return problem === null ? check : { ok: false, reason: problem };
}

async function checkSourceMap(registry: Registry, key: string, m: ReleaseManifest): Promise<string | null> {
  const ref = m.sourceMap;
  if (!ref) return null;
  if (!key.endsWith(`/${ref.file}`)) return `source map ${ref.file} is not ${key}`;
  return sourceMapProblem(await registry.get(key), m);
}

/** Why these bytes are not the source map the signed manifest names, or null when they are. */
export function sourceMapProblem(bytes: Buffer | null, m: ReleaseManifest): string | null {
  const ref = m.sourceMap;
  if (!ref) return `${m.name} ${m.version} was published without a source map`;
  if (bytes === null) return `source map missing: ${ref.file}`;
  if (bytes.length !== ref.size) {
    return `source map size mismatch: manifest says ${ref.size} bytes, got ${bytes.length}`;
  }
  const actual = sha256(bytes);
  return actual === ref.sha256
    ? null
    : `source map sha256 mismatch: manifest says ${ref.sha256}, got ${actual}`;
}

/** Each pinned runtime: at its content-addressed key, with the signed size and sha256. */
async function checkRuntimes(registry: Registry, prefix: string, m: ReleaseManifest): Promise<string | null> {
  const pin = m.runtime;
  if (!pin) return null;
  for (const [arch, a] of Object.entries(pin.artifacts)) {
    const label = `runtime node-${pin.version}-linux-${arch}`;
    if (!a) continue;
    const expectedKey = runtimeKey(prefix, pin.version, arch as RuntimeArch, a.sha256);
    if (a.key !== expectedKey) return `${label}: key ${a.key} is not ${expectedKey}`;
    const bytes = await registry.get(a.key);
    if (bytes === null) return `${label} missing: ${a.key}`;
    if (bytes.length !== a.size) {
      return `${label} size mismatch: manifest says ${a.size} bytes, got ${bytes.length}`;
    }
    const actual = sha256(bytes);
    if (actual !== a.sha256) return `${label} sha256 mismatch: manifest says ${a.sha256}, got ${actual}`;
  }
  return null;
}
