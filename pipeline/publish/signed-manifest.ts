// A published release's manifest, trusted only once its signature checks out against the configured key
// and it names the app and version asked for: what `ferry diff` and `ferry trace` build on.
import { ConfigError, FerryError, UsageError, VerificationError } from '../errors';
import type { Registry } from '../registry/registry';
import { releaseKeys } from '../release/layout';
import { checkVersion, parseManifest, type ReleaseManifest } from '../release/manifest';
import { verifyBytes } from '../release/signing';

export function requirePublicKey(publicKey: string | null, configFile: string): string {
  if (!publicKey) {
    throw new ConfigError(`signing.publicKey is not set in ${configFile}`, {
      remedy: 'paste the public key line from `ferry keygen` (or set FERRY_SIGNING_PUBLIC_KEY)',
    });
  }
  return publicKey;
}

export async function readSignedManifest(
  registry: Registry,
  prefix: string,
  app: string,
  version: string,
  publicKey: string,
): Promise<ReleaseManifest> {
  const bad = checkVersion(version);
  if (bad) throw new UsageError(bad);
  const keys = releaseKeys(prefix, app, version);
  const [manifest, signature] = await Promise.all([
    registry.get(keys.manifest),
    registry.get(keys.signature),
  ]);
  if (manifest === null) {
    throw new FerryError(`${app} ${version} is not published in ${registry.description}`, {
      remedy: '`ferry releases` lists the published versions',
    });
  }
  const sig = verifyBytes(manifest, signature, publicKey);
  if (!sig.ok) throw new VerificationError(`${app} ${version}: ${sig.reason}`);
  let m: ReleaseManifest;
  try {
    m = parseManifest(manifest);
  } catch (err) {
    throw new VerificationError(`${app} ${version}: ${(err as Error).message}`);
  }
  if (m.name !== app || m.version !== version) {
    throw new VerificationError(
      `${keys.manifest} is signed for ${m.name} ${m.version}, not ${app} ${version}`,
    );
  }
  return m;
}
