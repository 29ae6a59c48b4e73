import { FILES_PREFIX, parseObjectKey, userPrefix } from '../storage/keys';
import type { FileRecord } from '../storage/types';
import { type Loaded, LoadedUsers } from './loaded-users';
import type { Catalog, CatalogOptions, CatalogPage, PageQuery, UserUsage } from './types';
import { type IndexEntry, UserIndex } from './user-index';

export interface OssListing {
  /** Every object under the prefix, one ListObjectsV2 page (continuation token) at a time. */
  walk(prefix: string): AsyncIterable<{ name: string; size: number }[]>;
  /** The file's metadata (a HEAD), null when it is gone. */
  stat(userId: string, id: string): Promise<FileRecord | null>;
}

type Change = { op: '+'; record: FileRecord } | { op: '-'; id: string };

interface OssUser extends Loaded {
  /** Set while a walk of this user runs: this process's changes meanwhile, merged when it ends. */
  journal: Change[] | null;
}

const STAT_CONCURRENCY = 8;

/**
 * The OSS backend's catalog: one walk of the user's prefix (ListObjectsV2 pages with continuation
 * tokens) builds the index, this process's uploads and deletes keep it current, and a walk in the
 * background every `reconcileMs` picks up what other hosts did.
 *
 * A walk and a write racing cannot lose the write (the usage race of issue 12): while a walk runs,
 * this process's changes are journaled, and the walk's result is merged with them by file id: a file
 * stored during the walk is in the index whether or not the listing saw it, a file deleted during it is
 * not. Usage is never taken from a listing that started before a write finished.
 */
export class OssCatalog implements Catalog {
  private readonly users: LoadedUsers<OssUser>;
  private readonly timer: NodeJS.Timeout;
  private reconciling: Promise<void> | null = null;
  // Journals of users whose first walk is still running (not in `users` yet).
  private readonly pending = new Map<string, Change[]>();

  constructor(
    private readonly listing: OssListing,
    private readonly opts: CatalogOptions,
  ) {
    this.users = new LoadedUsers((userId) => this.load(userId), opts.maxCachedFiles ?? 300_000);
    this.timer = setInterval(() => void this.reconcileAll(), Math.max(1000, opts.reconcileMs));
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  async page(userId: string, query: PageQuery): Promise<CatalogPage> {
    const u = await this.users.get(userId);
    const { entries, nextCursor } = u.index.page(query);
    // Listings carry no names or types: HEAD each file of the page the first time it is shown. A file
    // deleted through another host meanwhile is dropped here.
    const missing = entries.filter((e) => !e.record);
    let next = 0;
    const worker = async () => {
      while (next < missing.length) {
        const e = missing[next++]!;
        const record = await this.listing.stat(userId, e.id);
        if (record) e.record = record;
        else u.index.remove(e.id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, missing.length) }, worker));
    return { items: entries.flatMap((e) => (e.record ? [e.record] : [])), nextCursor };
  }

  async usage(userId: string): Promise<UserUsage> {
    return (await this.users.get(userId)).index.usage();
  }

  chargedBytes(userId: string): number | undefined {
    return this.users.peek(userId)?.index.chargedBytes;
  }

  counts(userId: string, id: string): boolean {
    return this.users.peek(userId)?.index.get(id) !== undefined;
  }

  async added(record: FileRecord): Promise<void> {
    this.change(record.userId, { op: '+', record });
  }

  async removed(userId: string, id: string): Promise<void> {
    this.change(userId, { op: '-', id });
  }

  async totalBytes(): Promise<number> {
    let total = 0;
    for await (const page of this.listing.walk(FILES_PREFIX)) {
      for (const o of page) if (parseObjectKey(o.name)) total += o.size;
    }
    return total;
  }

  reconcileAll(): Promise<void> {
    this.reconciling ??= (async () => {
      try {
        const idleAfter = Date.now() - 10 * Math.max(1000, this.opts.reconcileMs);
        for (const [userId, u] of this.users.entries()) {
          if (u.lastUsed < idleAfter) this.users.drop(userId);
          else await this.reconcile(userId, u);
        }
      } catch (err) {
        this.opts.log?.warn({ err }, 'could not reconcile the file index with the bucket');
      } finally {
        this.reconciling = null;
      }
    })();
    return this.reconciling;
  }

  private change(userId: string, change: Change): void {
    const u = this.users.peek(userId);
    (u?.journal ?? this.pending.get(userId))?.push(change);
    if (u) apply(u.index, change);
  }

  private async load(userId: string): Promise<OssUser> {
    const journal: Change[] = [];
    this.pending.set(userId, journal);
    try {
      const index = await this.walkUser(userId, new Map());
      for (const c of journal) apply(index, c);
      return { index, lastUsed: Date.now(), journal: null };
    } finally {
      this.pending.delete(userId);
    }
  }

  private async reconcile(userId: string, u: OssUser): Promise<void> {
    u.journal = [];
    try {
      const known = new Map<string, FileRecord>();
      for (const e of u.index.values()) if (e.record) known.set(e.id, e.record);
      const index = await this.walkUser(userId, known);
      for (const c of u.journal) apply(index, c);
      u.index = index;
    } finally {
      u.journal = null;
    }
  }

  /** The user's files from a full walk, keeping metadata already known (a file's never changes). */
  private async walkUser(userId: string, known: Map<string, FileRecord>): Promise<UserIndex> {
    const entries: IndexEntry[] = [];
    for await (const page of this.listing.walk(userPrefix(userId))) {
      for (const o of page) {
        const parsed = parseObjectKey(o.name);
        if (parsed?.userId === userId)
          entries.push({
            id: parsed.id,
            size: o.size,
            category: parsed.category,
            record: known.get(parsed.id) ?? null,
          });
      }
    }
    return UserIndex.of(this.opts.minChargeBytes, entries);
  }
}

function apply(index: UserIndex, c: Change): void {
  if (c.op === '+')
    index.add({ id: c.record.id, size: c.record.size, category: c.record.category, record: c.record });
  else index.remove(c.id);
}
