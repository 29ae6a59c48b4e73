import { randomUUID } from 'node:crypto';
import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DiskCatalog } from '../catalog/disk-catalog';
import type { CatalogOptions } from '../catalog/types';
import { FILES_PREFIX, objectKey } from './keys';
import { FileSink, UploadMeter } from './streams';
import type { ByteRange, FileRecord, PutRequest, ReadResult, StorageBackend } from './types';

/**
 * Local-disk backend: the embedded default, for `npm start` on a fresh machine and for single-host
 * deployments. Layout under the root:
 *
 *   files/{userId}/{category}/{yyyy}/{mm}/{fileId}/content     the bytes
 *   files/{userId}/{category}/{yyyy}/{mm}/{fileId}/meta.json   name, type, sha256, …
 *   tmp/{host}.{pid}.{uuid}/                                    uploads and deletes in progress
 *
 * Atomicity: an upload is written into its own folder under tmp/ (same filesystem), both files and
 * the folder are flushed (fdatasync, fsync), then the folder is renamed into place with one rename(2)
 * and its new parent fsynced before the upload is answered. A crash leaves either the whole
 * file or a folder in tmp/, never a half file in files/. A delete renames the folder into tmp/ first,
 * so it disappears at once. tmp/ entries of processes that are gone are removed at start; entries of
 * live processes (an old cluster worker finishing its uploads during a deploy) are left alone.
 *
 * Several processes on one host may share the folder; several hosts should not (use OSS).
 */
export class DiskStorage implements StorageBackend {
  readonly kind = 'disk' as const;
  readonly catalog: DiskCatalog;
  private readonly filesDir: string;
  private readonly tmpDir: string;
  private readonly tmpTag = `${os.hostname().replace(/[^A-Za-z0-9_-]/g, '_')}.${process.pid}`;

  constructor(
    private readonly root: string,
    catalog: CatalogOptions = { minChargeBytes: 0, reconcileMs: 30_000 },
  ) {
    this.filesDir = path.join(root, FILES_PREFIX);
    this.tmpDir = path.join(root, 'tmp');
    this.catalog = new DiskCatalog(root, catalog);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.filesDir, { recursive: true });
    await fs.mkdir(this.tmpDir, { recursive: true });
    await this.catalog.init();
    await this.removeDebris();
  }

  close(): void {
    this.catalog.close();
  }

  keyOf(userId: string, id: string): string {
    return objectKey(userId, id);
  }

  async put(req: PutRequest): Promise<FileRecord> {
    const work = await this.newTmp();
    let content: fs.FileHandle | undefined;
    let meta: fs.FileHandle | undefined;
    try {
      const meter = new UploadMeter(req.admit);
      content = await fs.open(path.join(work, 'content'), 'wx');
      // A deep buffer lets the stream hand chunks that arrive while a write is in flight to one writev,
      // instead of one thread-pool round trip per socket chunk.
      await pipeline(req.body, meter, new FileSink(content, WRITE_BUFFER_BYTES));
      const record: FileRecord = {
        id: req.id,
        userId: req.userId,
        name: req.name,
        size: meter.tally.bytes,
        contentType: req.contentType,
        category: req.category,
        sha256: meter.tally.sha256,
        createdAt: req.createdAt.toISOString(),
      };
      meta = await fs.open(path.join(work, 'meta.json'), 'wx');
      await meta.writeFile(JSON.stringify(record));
      // Both files' bytes and the folder's two entries are durable before the folder is renamed into
      // place. The three flushes are independent, so they run at once: the filesystem commits them
      // together (one journal commit on ext4, not three in a row). fdatasync flushes a file's data
      // and the metadata needed to read it back (its size and blocks), which is what a crash must not
      // lose; it skips only timestamps.
      await Promise.all([content.datasync(), meta.datasync(), syncFile(work)]);
      await Promise.all([content.close(), meta.close()]);
      const target = this.pathOf(req.userId, req.id);
      // The first upload of a user or a month also creates folders: their entries must last too.
      const created = await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.rename(work, target);
      await Promise.all(foldersToSync(path.dirname(target), created).map(syncFile));
      await this.catalog.added(record);
      return record;
    } catch (err) {
      await Promise.all([content?.close(), meta?.close()]).catch(() => {});
      await fs.rm(work, { recursive: true, force: true });
      throw err;
    }
  }

  async stat(userId: string, id: string): Promise<FileRecord | null> {
    // A user whose index is in memory (anyone who listed, uploaded or asked for usage lately) is answered
    // from it: one stat of the log, against open + read + close + parse of meta.json. Anything the index
    // does not know (not loaded, or a log line lost in a crash) is read from the folder, the truth.
    return (
      (await this.catalog.record(userId, id)) ?? readMeta(path.join(this.pathOf(userId, id), 'meta.json'))
    );
  }

  async read(userId: string, id: string, range?: ByteRange): Promise<ReadResult | null> {
    const dir = this.pathOf(userId, id);
    const file = await this.stat(userId, id);
    if (!file) return null;
    const content = path.join(dir, 'content');
    if (file.size <= SMALL_FILE_BYTES) {
      // Read whole, synchronously (see readMeta), and sent with the headers in one write: a stream
      // costs four thread-pool round trips (open, read, read to EOF, close) and a 64 KiB buffer.
      const bytes = readSmall(content, file.size);
      return bytes && { file, bytes };
    }
    // Open before answering so a file deleted in between is a 404, not a broken stream.
    const handle = await fs.open(content, constants.O_RDONLY).catch(notFoundToNull);
    if (!handle) return null;
    const body = handle.createReadStream({ start: range?.start, end: range?.end });
    return { file, body };
  }

  async delete(userId: string, id: string): Promise<boolean> {
    const dir = this.pathOf(userId, id);
    const trash = path.join(this.tmpDir, `${this.tmpTag}.${randomUUID()}`);
    try {
      await fs.rename(dir, trash);
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    await this.catalog.removed(userId, id);
    await fs.rm(trash, { recursive: true, force: true });
    return true;
  }

  async presign(): Promise<string | null> {
    return null;
  }

  async check(): Promise<void> {
    await fs.access(this.filesDir, constants.W_OK);
    await fs.access(this.tmpDir, constants.W_OK);
  }

  private pathOf(userId: string, id: string): string {
    return path.join(this.root, objectKey(userId, id));
  }

  private async newTmp(): Promise<string> {
    const dir = path.join(this.tmpDir, `${this.tmpTag}.${randomUUID()}`);
    await fs.mkdir(dir);
    return dir;
  }

  /** Removes tmp/ entries left by processes of this host that no longer run, or older than a day. */
  private async removeDebris(): Promise<void> {
    const host = this.tmpTag.split('.')[0];
    const dayAgo = Date.now() - 24 * 3600_000;
    for (const entry of await fs.readdir(this.tmpDir)) {
      const [entryHost, pidText] = entry.split('.');
      const pid = Number(pidText);
      const full = path.join(this.tmpDir, entry);
      let stale = entryHost === host && Number.isInteger(pid) && !isAlive(pid);
      if (!stale) {
        const st = await fs.stat(full).catch(notFoundToNull);
        stale = st !== null && st.mtimeMs < dayAgo;
      }
      if (stale) await fs.rm(full, { recursive: true, force: true });
    }
  }
}

// Up to this much of an upload waits in memory while a write is in flight (per upload in progress).
const WRITE_BUFFER_BYTES = 512 * 1024;

/** Files up to this size are read whole and sent in one write (one fs stream read chunk is 64 KiB too). */
export const SMALL_FILE_BYTES = 64 * 1024;

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Metadata reads use the sync call on purpose: a tiny file takes ~10 µs synchronously but ~80 µs through
// the libuv thread pool (measured by `npm run bench`). Listings never read files: they come from the
// catalog (catalog/disk-catalog.ts). Uploads and downloads stay streamed and asynchronous.
async function readMeta(file: string): Promise<FileRecord | null> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return notFoundToNull(err);
  }
  return JSON.parse(text) as FileRecord;
}

/**
 * The whole file, up to one byte more than expected (so a file that grew shows as a size mismatch, which
 * the route's integrity check refuses); null when it is gone.
 */
function readSmall(file: string, expected: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY);
  } catch (err) {
    return notFoundToNull(err);
  }
  try {
    const buf = Buffer.allocUnsafe(expected + 1);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * After `dir` was made with mkdir -p (`created`: the first folder it made, if any) and an entry was
 * renamed into it: the folders whose entries changed, `dir` and every new folder's parent.
 */
export function foldersToSync(dir: string, created: string | undefined): string[] {
  const out = [dir];
  if (created === undefined) return out;
  for (let d = dir; d !== path.dirname(created); d = path.dirname(d)) out.push(path.dirname(d));
  return out;
}

async function syncFile(file: string): Promise<void> {
  const handle = await fs.open(file, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function notFoundToNull(err: unknown): null {
  if (isNotFound(err)) return null;
  throw err;
}
