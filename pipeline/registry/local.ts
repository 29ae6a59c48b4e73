// The registry as a local folder: the embedded default, for a machine with no cloud account and for tests.
// Same keys as OSS (a key is a relative path). Writes go to a temp file first and then into place, so a
// reader never sees half a file; forbid-overwrite uses link(2), which fails atomically if the name exists.
import { randomBytes } from 'node:crypto';
import {
  copyFile,
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  AlreadyExistsError,
  checkKey,
  type ObjectInfo,
  type PresignOptions,
  type PutFileOptions,
  type PutOptions,
  type Registry,
} from './registry';

const TMP_MARK = '.ferry-tmp-';

export class LocalRegistry implements Registry {
  readonly description: string;

  constructor(readonly root: string) {
    this.description = root;
  }

  private pathOf(key: string): string {
    checkKey(key);
    return join(this.root, ...key.split('/'));
  }

  async get(key: string): Promise<Buffer | null> {
    return readFile(this.pathOf(key)).catch(nullIfMissing);
  }

  async head(key: string): Promise<{ size: number; etag: string } | null> {
    const st = await stat(this.pathOf(key)).catch(nullIfMissing);
    if (!st?.isFile()) return null;
    return { size: st.size, etag: `${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}` };
  }

  async put(key: string, body: Buffer, opts: PutOptions = {}): Promise<void> {
    const dest = this.pathOf(key);
    await this.place(dest, key, (tmp) => writeFile(tmp, body), opts.forbidOverwrite ?? false);
  }

  async putFile(key: string, path: string, opts: PutFileOptions = {}): Promise<void> {
    const dest = this.pathOf(key);
    const { size } = await stat(path);
    await this.place(dest, key, (tmp) => copyFile(path, tmp), opts.forbidOverwrite ?? false);
    opts.onProgress?.(size, size);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch(nullIfMissing);
    for (const e of entries ?? []) {
      if (!e.isFile() || e.name.startsWith(TMP_MARK)) continue;
      const abs = join(e.parentPath, e.name);
      const key = abs
        .slice(this.root.length + 1)
        .split(sep)
        .join('/');
      if (!key.startsWith(prefix)) continue;
      const st = await stat(abs).catch(nullIfMissing);
      if (st) out.push({ key, size: st.size, lastModified: st.mtime.toISOString() });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await unlink(this.pathOf(key)).catch(nullIfMissing);
  }

  async download(key: string, destPath: string): Promise<void> {
    const src = this.pathOf(key);
    await mkdir(dirname(destPath), { recursive: true });
    const tmp = `${destPath}.${randomBytes(4).toString('hex')}.part`;
    try {
      await copyFile(src, tmp);
      const [a, b] = await Promise.all([stat(src), stat(tmp)]);
      if (a.size !== b.size)
        throw new Error(`download of ${key} is truncated (${b.size} of ${a.size} bytes)`);
      await rename(tmp, destPath);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async presign(key: string, _opts: PresignOptions): Promise<string> {
    return pathToFileURL(this.pathOf(key)).href;
  }

  /** Writes through a temp file in the destination folder, then renames (or links) it into place. */
  private async place(
    dest: string,
    key: string,
    write: (tmp: string) => Promise<void>,
    forbidOverwrite: boolean,
  ): Promise<void> {
    await mkdir(dirname(dest), { recursive: true });
    const tmp = join(dirname(dest), `${TMP_MARK}${randomBytes(6).toString('hex')}`);
    try {
      await write(tmp);
      if (forbidOverwrite) {
        // link() refuses an existing name in one step: two racing publishers cannot both win.
        await link(tmp, dest).catch((err: NodeJS.ErrnoException) => {
          throw err.code === 'EEXIST' ? new AlreadyExistsError(key) : err;
        });
      } else {
        await rename(tmp, dest);
      }
    } finally {
      await rm(tmp, { force: true });
    }
  }
}

function nullIfMissing(err: NodeJS.ErrnoException): null {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
  throw err;
}
