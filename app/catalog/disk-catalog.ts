import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FILES_PREFIX, isUserId, objectKey } from '../storage/keys';
import type { FileRecord } from '../storage/types';
import { appendToLog, deleteLine, LOG_HEADER, type LogOp, parseLog, putLine, readLogRange } from './disk-log';
import { fileExists, readDirNames, walkUser, YIELD_EVERY, yieldToLoop } from './disk-walk';
import { type Loaded, LoadedUsers } from './loaded-users';
import type { Catalog, CatalogOptions, CatalogPage, PageQuery, UserUsage } from './types';
import { type IndexEntry, UserIndex } from './user-index';

interface DiskUser extends Loaded {
  /** Bytes of the log applied so far, and the file they came from (a compaction makes a new one). */
  offset: number;
  ino: number;
  /** Log size at which only an unfinished line was left (a crash mid-append): no need to read it again. */
  stuckAt: number;
  catchingUp: Promise<void> | null;
}

// A cold load or a catch-up reads the log this much at a time, so no single step blocks for long.
const CHUNK_BYTES = 1024 * 1024;

/**
 * The disk backend's catalog. The truth is the folder tree; the index is a per-user log
 * (`index/{userId}.log`, see disk-log.ts) that the process making a change appends to, and that every
 * process on the host follows: before answering, a `stat` of the log (one syscall) says whether another
 * worker wrote since, and only the new lines are read. A listing or a quota check never walks the tree.
 *
 * The log is built from a walk of the user's folder the first time it is needed (an upgrade from a
 * version without it, or a new user), and compared with the tree in the background every
 * `reconcileMs`: a file whose line was lost (a crash between the rename and the append) is added, one
 * whose folder is gone is removed, by appending the missing lines.
 */
export class DiskCatalog implements Catalog {
  private readonly users: LoadedUsers<DiskUser>;
  private readonly indexDir: string;
  private readonly filesDir: string;
  private readonly timer: NodeJS.Timeout;
  private reconciling: Promise<void> | null = null;

  constructor(
    private readonly root: string,
    private readonly opts: CatalogOptions,
  ) {
    this.indexDir = path.join(root, 'index');
    this.filesDir = path.join(root, FILES_PREFIX);
    this.users = new LoadedUsers((userId) => this.load(userId), opts.maxCachedFiles ?? 300_000);
    this.timer = setInterval(() => void this.reconcileAll(), Math.max(1000, opts.reconcileMs));
    this.timer.unref();
  }

  async init(): Promise<void> {
    await fs.mkdir(this.indexDir, { recursive: true });
    // Logs being built are written under a temp name first; a crash mid-build leaves one behind.
    const hourAgo = Date.now() - 3600_000;
    for (const name of await fs.readdir(this.indexDir)) {
      if (!name.endsWith('.tmp')) continue;
      const file = path.join(this.indexDir, name);
      const st = await fs.stat(file).catch(() => null);
      if (st && st.mtimeMs < hourAgo) await fs.rm(file, { force: true });
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  async page(userId: string, query: PageQuery): Promise<CatalogPage> {
    const u = await this.current(userId);
    const { entries, nextCursor } = u.index.page(query);
    return { items: entries.map((e) => e.record!).filter(Boolean), nextCursor };
  }

  async usage(userId: string): Promise<UserUsage> {
    return (await this.current(userId)).index.usage();
  }

  /**
   * The file's record when the user's index is in memory (after catching up with other workers' lines);
   * undefined when it is not loaded or does not know the file. Never loads an index: a cold user's
   * first load can take seconds, a single file's meta.json microseconds.
   */
  async record(userId: string, id: string): Promise<FileRecord | undefined> {
    if (!this.users.peek(userId)) return undefined;
    return (await this.current(userId)).index.get(id)?.record ?? undefined;
  }

  chargedBytes(userId: string): number | undefined {
    return this.users.peek(userId)?.index.chargedBytes;
  }

  counts(userId: string, id: string): boolean {
    return this.users.peek(userId)?.index.get(id) !== undefined;
  }

  async added(record: FileRecord): Promise<void> {
    await appendToLog(this.logOf(record.userId), putLine(record));
    // Applied here at once too, so this process's next quota check sees it; reading the line back from
    // the log later applies it again, which changes nothing.
    this.users.peek(record.userId)?.index.add(entryOf(record));
  }

  async removed(userId: string, id: string): Promise<void> {
    await appendToLog(this.logOf(userId), deleteLine(id));
    this.users.peek(userId)?.index.remove(id);
  }

  async totalBytes(): Promise<number> {
    let total = 0;
    for (const userId of (await readDirNames(this.filesDir)).filter(isUserId)) {
      const loaded = this.users.peek(userId);
      // A user not in memory is read (or, without a log yet, built) without keeping it: the total must
      // not push the users who are being served out of the cache.
      total += loaded
        ? (await this.current(userId)).index.usage().bytes
        : (await this.load(userId)).index.usage().bytes;
    }
    return total;
  }

  reconcileAll(): Promise<void> {
    this.reconciling ??= (async () => {
      try {
        const idleAfter = Date.now() - 10 * Math.max(1000, this.opts.reconcileMs);
        for (const [userId, u] of this.users.entries()) {
          if (u.lastUsed < idleAfter) this.users.drop(userId);
          else await this.reconcile(userId);
        }
      } catch (err) {
        this.opts.log?.warn({ err }, 'could not reconcile the file index with the storage folder');
      } finally {
        this.reconciling = null;
      }
    })();
    return this.reconciling;
  }

  private logOf(userId: string): string {
    if (!isUserId(userId)) throw new Error(`invalid user id ${JSON.stringify(userId)}`);
    return path.join(this.indexDir, `${userId}.log`);
  }

  /** The user's index with every line any process has appended so far. */
  private async current(userId: string): Promise<DiskUser> {
    const u = await this.users.get(userId);
    await this.catchUp(userId, u);
    return this.users.peek(userId) ?? u;
  }

  private catchUp(userId: string, u: DiskUser): Promise<void> {
    // One stat per request: sync on purpose, it is a few microseconds (see storage/disk.ts).
    let st: { size: number; ino: number };
    try {
      st = statSync(this.logOf(userId));
    } catch {
      st = { size: 0, ino: -1 };
    }
    if (st.ino === u.ino && (st.size === u.offset || st.size === u.stuckAt)) return Promise.resolve();
    u.catchingUp ??= (async () => {
      try {
        if (st.ino !== u.ino || st.size < u.offset) {
          // Rewritten (compacted) or removed by hand: start again from the file as it is now.
          this.users.set(userId, await this.load(userId));
          return;
        }
        await this.applyFrom(userId, u, st.size);
      } finally {
        u.catchingUp = null;
      }
    })();
    return u.catchingUp;
  }

  /** Applies the log from u.offset up to `size`; returns the ops seen. */
  private async applyFrom(userId: string, u: DiskUser, size: number): Promise<LogOp[]> {
    const seen: LogOp[] = [];
    while (u.offset < size) {
      const text = await readLogRange(this.logOf(userId), u.offset, Math.min(size, u.offset + CHUNK_BYTES));
      const { ops, consumed } = parseLog(text);
      if (consumed === 0) {
        // A line still being written, or cut short for good: read it again only once the log grows.
        u.stuckAt = size;
        break;
      }
      for (const op of ops) {
        if (op.op === '+') u.index.add(entryOf(op.record));
        else u.index.remove(op.id);
        seen.push(op);
      }
      u.offset += consumed;
    }
    return seen;
  }

  private async load(userId: string): Promise<DiskUser> {
    const loaded = await this.read(userId);
    if (loaded.built) return loaded;
    await this.build(userId);
    return this.read(userId);
  }

  /** Reads the log as it is; `built` false when there is none yet, or it lacks the header. */
  private async read(userId: string): Promise<DiskUser & { built: boolean }> {
    const file = this.logOf(userId);
    const u: DiskUser & { built: boolean } = {
      index: new UserIndex(this.opts.minChargeBytes),
      lastUsed: Date.now(),
      offset: 0,
      ino: -1,
      stuckAt: -1,
      catchingUp: null,
      built: false,
    };
    let st: { size: number; ino: number };
    try {
      st = await fs.stat(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return u;
      throw err;
    }
    const records = new Map<string, IndexEntry>();
    while (u.offset < st.size) {
      const text = await readLogRange(file, u.offset, Math.min(st.size, u.offset + CHUNK_BYTES));
      const { ops, consumed, header } = parseLog(text);
      if (header) u.built = true;
      if (consumed === 0) break;
      for (const op of ops) {
        if (op.op === '+') records.set(op.record.id, entryOf(op.record));
        else records.delete(op.id);
      }
      u.offset += consumed;
    }
    u.index = UserIndex.of(this.opts.minChargeBytes, records.values());
    u.ino = st.ino;
    return u;
  }

  /**
   * Writes a complete log from a walk of the user's folder. Linked into place only if none exists, so
   * two processes building at once agree on one; appends made meanwhile to the other are not lost.
   */
  private async build(userId: string): Promise<void> {
    const records = await walkUser(this.root, userId, () => true);
    const tmp = path.join(this.indexDir, `.${userId}.${process.pid}.${randomUUID()}.tmp`);
    const handle = await fs.open(tmp, 'wx');
    try {
      await handle.write(`${LOG_HEADER}\n`);
      for (let i = 0; i < records.length; i += YIELD_EVERY) {
        await handle.write(
          records
            .slice(i, i + YIELD_EVERY)
            .map(putLine)
            .join(''),
        );
      }
    } finally {
      await handle.close();
    }
    try {
      await fs.link(tmp, this.logOf(userId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /** Compares the index with the folder tree and appends whatever lines are missing. */
  private async reconcile(userId: string): Promise<void> {
    const before = await this.current(userId);
    const knownBefore = new Set(before.index.ids());
    const onDisk = new Set<string>();
    const missing = await walkUser(this.root, userId, (id) => {
      onDisk.add(id);
      return !knownBefore.has(id);
    });
    // Lines other processes appended during the walk: a file deleted meanwhile must not come back.
    const u = await this.current(userId);
    const deletedMeanwhile = new Set<string>();
    for (const op of await this.applyFrom(userId, u, statSize(this.logOf(userId)))) {
      if (op.op === '-') deletedMeanwhile.add(op.id);
    }
    for (const record of missing) {
      if (u.index.get(record.id) || deletedMeanwhile.has(record.id)) continue;
      if (await fileExists(this.pathOf(userId, record.id))) await this.added(record);
    }
    let seen = 0;
    for (const id of knownBefore) {
      if (++seen % YIELD_EVERY === 0) await yieldToLoop();
      if (onDisk.has(id) || !u.index.get(id)) continue;
      // Gone from the tree: check once more, it may only have been renamed into place after the walk.
      if (!(await fileExists(this.pathOf(userId, id)))) await this.removed(userId, id);
    }
  }

  private pathOf(userId: string, id: string): string {
    return path.join(this.root, objectKey(userId, id));
  }
}

function entryOf(record: FileRecord): IndexEntry {
  return { id: record.id, size: record.size, category: record.category, record };
}

function statSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
