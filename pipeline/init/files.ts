// The file side of `ferry init`: .gitignore lines, the project's signing key, free local ports, and
// writing every planned file at once (all to temp files first, then renames), so a failure leaves no
// half-written file and an existing file is never replaced without --force.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { FerryError } from '../errors';
import { PROJECT_KEY_FILE } from '../publish/signing-key';
import { generateSigningKeyPair, loadPrivateKey } from '../release/signing';

export interface PlannedFile {
  /** Relative to the project root. */
  path: string;
  text: string;
}

/** Lines .gitignore must have: .ferry/ holds the private key, the local registry and hosts. */
export const IGNORED = ['.ferry/', 'dist/'] as const;

/** The .gitignore text with the missing lines appended (null: nothing to add). Pure. */
export function gitignoreWith(current: string | null, lines: readonly string[] = IGNORED): string | null {
  const have = new Set((current ?? '').split('\n').map((l) => l.trim().replace(/^\//, '')));
  const missing = lines.filter((l) => !have.has(l) && !have.has(l.replace(/\/$/, '')));
  if (missing.length === 0) return null;
  const base = current === null || current === '' ? '' : current.endsWith('\n') ? current : `${current}\n`;
  return `${base}# Ferry: the private signing key, the local registry and hosts, build output\n${missing.join('\n')}\n`;
}

/**
 * The project's key pair: the existing .ferry/signing-key.pem when there is one (re-running init keeps
 * the key hosts already trust), else a new one written 0600. Call only once .gitignore covers .ferry/.
 */
export async function projectKey(
  root: string,
): Promise<{ publicKey: string; file: string; created: boolean }> {
  const file = join(root, PROJECT_KEY_FILE);
  if (existsSync(file)) {
    try {
      return { publicKey: loadPrivateKey(await readFile(file, 'utf8')).publicKey, file, created: false };
    } catch (err) {
      throw new FerryError(`${file} is not a usable signing key: ${(err as Error).message}`, {
        remedy: 'move it away (it may be the key your hosts trust) and run ferry init again',
      });
    }
  }
  const pair = generateSigningKeyPair();
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, pair.privateKeyPem, { flag: 'wx', mode: 0o600 });
  await chmod(file, 0o600);
  return { publicKey: pair.publicKey, file, created: true };
}

/** The first `count` ports from `start` that nothing on 127.0.0.1 listens on now. */
export async function freeLocalPorts(start: number, count: number): Promise<number[]> {
  const found: number[] = [];
  for (let p = start; p <= 65535 && found.length < count; p++) {
    if (await canListen(p)) found.push(p);
  }
  if (found.length < count) throw new FerryError(`no ${count} free ports from ${start} on 127.0.0.1`);
  return found;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Files among `planned` that already exist. */
export function existing(root: string, planned: readonly PlannedFile[]): string[] {
  return planned.filter((f) => existsSync(join(root, f.path))).map((f) => f.path);
}

/** Writes every file via a temp file beside it, then renames them all; on failure removes the temps. */
export async function writeAll(root: string, files: readonly PlannedFile[]): Promise<void> {
  const temps: string[] = [];
  try {
    for (const f of files) {
      const dest = join(root, f.path);
      await mkdir(dirname(dest), { recursive: true });
      const tmp = `${dest}.ferry-init-${process.pid}`;
      temps.push(tmp);
      await writeFile(tmp, f.text, { flag: 'wx' });
    }
    for (const [i, f] of files.entries()) await rename(temps[i] as string, join(root, f.path));
  } catch (err) {
    for (const t of temps) await rm(t, { force: true });
    throw err;
  }
}
