import { readFile } from 'node:fs/promises';
import { fingerprintArgv, keygenArgv, parseFingerprint } from './commands';
import { runOk } from './exec';

export interface KeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
  privateKey: string;
  /** The `ssh-ed25519 AAAA… comment` line. */
  publicKey: string;
  /** `SHA256:…` exactly as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

export async function generateKeyPair(privateKeyPath: string, comment: string): Promise<KeyPair> {
  const publicKeyPath = `${privateKeyPath}.pub`;
  await runOk(keygenArgv(privateKeyPath, comment));
  const [privateKey, publicKey, fpOut] = await Promise.all([
    readFile(privateKeyPath, 'utf8'),
    readFile(publicKeyPath, 'utf8'),
    runOk(fingerprintArgv(publicKeyPath)),
  ]);
  return {
    privateKeyPath,
    publicKeyPath,
    privateKey,
    publicKey: publicKey.trim(),
    fingerprint: parseFingerprint(fpOut),
  };
}
