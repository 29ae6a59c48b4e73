// Walking a user's folder tree on the disk backend: only for building an index and reconciling it, in
// the background. Asynchronous throughout, and it gives the event loop back every YIELD_EVERY ids: a
// folder of 100,000 ids is otherwise one uninterrupted loop of a few hundred milliseconds.
import fs from 'node:fs/promises';
import path from 'node:path';
import { CATEGORIES } from '../storage/category';
import { FILES_PREFIX, objectKey, parseFileId } from '../storage/keys';
import type { FileRecord } from '../storage/types';

export const YIELD_EVERY = 2000;
const READ_CONCURRENCY = 16;

export const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The records of the user's files for which `want(id)` is true, read from their meta.json. */
export async function walkUser(
  root: string,
  userId: string,
  want: (id: string) => boolean,
): Promise<FileRecord[]> {
  const dirs: string[] = [];
  for (const category of CATEGORIES) {
    const base = path.join(root, FILES_PREFIX, userId, category);
    for (const yyyy of await readDirNames(base)) {
      for (const mm of await readDirNames(path.join(base, yyyy))) {
        const monthDir = path.join(base, yyyy, mm);
        const ids = await readDirNames(monthDir);
        for (let i = 0; i < ids.length; i++) {
          if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
          const id = ids[i]!;
          // Only folders objectKey could have made: anything else is foreign debris.
          if (parseFileId(id)?.category !== category) continue;
          if (path.join(root, objectKey(userId, id)) !== path.join(monthDir, id)) continue;
          if (want(id)) dirs.push(path.join(monthDir, id));
        }
      }
    }
  }
  const out: FileRecord[] = [];
  let next = 0;
  const worker = async () => {
    while (next < dirs.length) {
      const dir = dirs[next++]!;
      try {
        out.push(JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8')) as FileRecord);
      } catch {
        // Deleted since the readdir, or not a complete file: not part of the index.
      }
    }
  };
  await Promise.all(Array.from({ length: READ_CONCURRENCY }, worker));
  return out;
}

export async function readDirNames(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

/** Whether a file folder is complete and in place. */
export async function fileExists(dir: string): Promise<boolean> {
  return fs.stat(path.join(dir, 'meta.json')).then(
    () => true,
    () => false,
  );
}
