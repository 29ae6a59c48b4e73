// The private signing key lives outside the repo: in CI a secret in FERRY_SIGNING_KEY, on a workstation a
// file named by FERRY_SIGNING_KEY_FILE, or the key `ferry init` made in the project's git-ignored .ferry/
// (so a fresh project publishes at once). Before signing we check it matches signing.publicKey in the
// config, because that is the key hosts trust: a release signed by any other key would be refused on every
// host.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors';
import { keyIdOf, loadPrivateKey } from '../release/signing';

export const SIGNING_ENV = { pem: 'FERRY_SIGNING_KEY', file: 'FERRY_SIGNING_KEY_FILE' } as const;

/** Where `ferry init` puts the project's own key pair's private half, relative to releases.yaml. */
export const PROJECT_KEY_FILE = '.ferry/signing-key.pem';

/**
 * The private key PEM: FERRY_SIGNING_KEY, else FERRY_SIGNING_KEY_FILE, else `projectKeyFile` when given
 * and present (the environment always wins, so CI never signs with a stray local file).
 */
export function signingKeyFromEnv(
  env: Record<string, string | undefined>,
  cwd: string,
  projectKeyFile?: string,
): string {
  const inline = env[SIGNING_ENV.pem];
  if (inline?.trim()) {
    // CI secret stores often flatten newlines to a literal "\n".
    return inline.includes('\\n') && !inline.includes('\n') ? inline.replace(/\\n/g, '\n') : inline;
  }
  const file = env[SIGNING_ENV.file]?.trim();
  if (file) {
    try {
      return readFileSync(resolve(cwd, file), 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read ${SIGNING_ENV.file}=${file}: ${(err as Error).message}`, {
        remedy: 'point it at the private key file `ferry keygen` wrote',
      });
    }
  }
  if (projectKeyFile !== undefined && existsSync(projectKeyFile)) return readFileSync(projectKeyFile, 'utf8');
  throw new ConfigError(`no signing key: set ${SIGNING_ENV.pem} or ${SIGNING_ENV.file}`, {
    remedy: `create one with \`ferry keygen\`; in CI store the PEM as a secret and expose it as ${SIGNING_ENV.pem}`,
  });
}

/** Returns the key's public half; refuses a key that does not match what the hosts trust. */
export function checkSigningKey(pem: string, trusted: string | null, configFile: string): string {
  let publicKey: string;
  try {
    publicKey = loadPrivateKey(pem).publicKey;
  } catch (err) {
    throw new ConfigError(`the signing key is unusable: ${(err as Error).message}`, {
      remedy: `${SIGNING_ENV.pem} must hold the whole PEM, including the BEGIN/END lines`,
    });
  }
  if (trusted === null) {
    throw new ConfigError(`signing.publicKey is not set in ${configFile}`, {
      remedy: `add the public key hosts should trust; for the key you are using that is:\n  signing:\n    publicKey: ${publicKey}`,
    });
  }
  if (publicKey !== trusted.trim()) {
    throw new ConfigError(
      `the signing key (key id ${keyIdOf(publicKey)}) does not match signing.publicKey (key id ${keyIdOf(trusted)}): hosts would reject this release`,
      {
        remedy: `use the private key that belongs to signing.publicKey, or (when rotating keys) update signing.publicKey to ${publicKey} and re-run setup on the hosts`,
      },
    );
  }
  return publicKey;
}
