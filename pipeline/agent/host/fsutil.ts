// Small file-system helpers with the durability the agent relies on: a state file is either the old or
// the new version after a crash, never half of one.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export function randomSuffix(): string {
  return randomBytes(6).toString('hex');
}

/** fsync a directory so a rename or symlink inside it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function writeFileAtomic(path: string, data: string | Buffer, opts: { sync?: boolean } = {}) {
  const tmp = `${path}.tmp-${randomSuffix()}`;
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      if (opts.sync !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (opts.sync !== false) await fsyncDir(dirname(path));
}

export async function writeJsonAtomic(path: string, value: unknown, opts: { sync?: boolean } = {}) {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, opts);
}

/** undefined when the file does not exist; throws on anything else (a corrupt state file is news). */
export async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

export async function readJsonOr<T>(path: string, fallback: T): Promise<T> {
  try {
    return (await readJson<T>(path)) ?? fallback;
  } catch {
    return fallback;
  }
}

export function isErrno(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}
