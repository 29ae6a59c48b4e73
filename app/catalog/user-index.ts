import { CATEGORIES, type Category } from '../storage/category';
import type { FileRecord } from '../storage/types';

/** One file as the index knows it: always its size and category, its metadata when known. */
export interface IndexEntry {
  id: string;
  size: number;
  category: Category;
  /** Null when only a listing has been seen (OSS keys carry no name or type); filled on first use. */
  record: FileRecord | null;
}

export interface CategoryUsage {
  bytes: number;
  files: number;
}

export interface UserUsage {
  /** The files' sizes added up. */
  bytes: number;
  /** What counts against the quota: each file at least MIN_FILE_CHARGE bytes. */
  chargedBytes: number;
  files: number;
  categories: Record<Category, CategoryUsage>;
}

export interface PageQuery {
  limit: number;
  /** The last id of the previous page (exclusive). */
  cursor?: string;
  category?: Category;
}

export interface IndexPage {
  entries: IndexEntry[];
  nextCursor: string | null;
}

// Newest first is descending ULID order; the category letter in front is not part of the time.
const orderKey = (id: string) => id.slice(1);

/** The first position in `ids` (ascending by orderKey) whose key is >= key. */
function lowerBound(ids: readonly string[], key: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (orderKey(ids[mid]!) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertSorted(ids: string[], id: string): void {
  // New uploads are the newest: the common case is a push at the end.
  const key = orderKey(id);
  if (ids.length === 0 || orderKey(ids[ids.length - 1]!) < key) ids.push(id);
  else ids.splice(lowerBound(ids, key), 0, id);
}

function removeSorted(ids: string[], id: string): void {
  const at = lowerBound(ids, orderKey(id));
  for (let i = at; i < ids.length && orderKey(ids[i]!) === orderKey(id); i++) {
    if (ids[i] === id) {
      ids.splice(i, 1);
      return;
    }
  }
}

/**
 * One user's files in memory, sorted by id (= by upload time), with usage kept as entries come and go.
 * A page costs a binary search plus the page itself, whatever the user's total; usage costs nothing.
 * Pure: the backends' catalogs decide what goes in (log lines on disk, listings on OSS).
 */
export class UserIndex {
  private readonly entries = new Map<string, IndexEntry>();
  private readonly all: string[] = [];
  private readonly byCategory = new Map<Category, string[]>(CATEGORIES.map((c) => [c, []]));
  private usageNow: UserUsage;

  constructor(private readonly minChargeBytes: number) {
    this.usageNow = {
      bytes: 0,
      chargedBytes: 0,
      files: 0,
      categories: Object.fromEntries(CATEGORIES.map((c) => [c, { bytes: 0, files: 0 }])) as Record<
        Category,
        CategoryUsage
      >,
    };
  }

  /** Builds an index from many entries at once: one sort instead of an insert each. */
  static of(minChargeBytes: number, entries: Iterable<IndexEntry>): UserIndex {
    const index = new UserIndex(minChargeBytes);
    for (const e of entries) {
      if (index.entries.has(e.id)) continue;
      index.entries.set(e.id, e);
      index.all.push(e.id);
      index.byCategory.get(e.category)!.push(e.id);
      index.count(e, 1);
    }
    const byKey = (a: string, b: string) =>
      orderKey(a) < orderKey(b) ? -1 : orderKey(a) > orderKey(b) ? 1 : 0;
    index.all.sort(byKey);
    for (const ids of index.byCategory.values()) ids.sort(byKey);
    return index;
  }

  get size(): number {
    return this.entries.size;
  }

  get(id: string): IndexEntry | undefined {
    return this.entries.get(id);
  }

  ids(): IterableIterator<string> {
    return this.entries.keys();
  }

  values(): IterableIterator<IndexEntry> {
    return this.entries.values();
  }

  /** Adds a file, or fills in the metadata of one already known. Idempotent. */
  add(entry: IndexEntry): void {
    const known = this.entries.get(entry.id);
    if (known) {
      if (!known.record && entry.record) known.record = entry.record;
      return;
    }
    this.entries.set(entry.id, entry);
    insertSorted(this.all, entry.id);
    insertSorted(this.byCategory.get(entry.category)!, entry.id);
    this.count(entry, 1);
  }

  /** Idempotent: removing an unknown id does nothing. */
  remove(id: string): IndexEntry | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    removeSorted(this.all, id);
    removeSorted(this.byCategory.get(entry.category)!, id);
    this.count(entry, -1);
    return entry;
  }

  /** Newest first, strictly older than the cursor. */
  page({ limit, cursor, category }: PageQuery): IndexPage {
    const ids = category ? this.byCategory.get(category)! : this.all;
    const end = cursor ? lowerBound(ids, orderKey(cursor)) : ids.length;
    const start = Math.max(0, end - limit);
    const entries: IndexEntry[] = [];
    for (let i = end - 1; i >= start; i--) entries.push(this.entries.get(ids[i]!)!);
    return { entries, nextCursor: start > 0 && entries.length > 0 ? entries[entries.length - 1]!.id : null };
  }

  usage(): UserUsage {
    const u = this.usageNow;
    const categories = {} as Record<Category, CategoryUsage>;
    for (const c of CATEGORIES) categories[c] = { ...u.categories[c] };
    return { ...u, categories };
  }

  /** Without a copy, for the per-chunk quota check of an upload. */
  get chargedBytes(): number {
    return this.usageNow.chargedBytes;
  }

  private count(e: IndexEntry, sign: 1 | -1): void {
    const u = this.usageNow;
    u.bytes += sign * e.size;
    u.chargedBytes += sign * Math.max(e.size, this.minChargeBytes);
    u.files += sign;
    const c = u.categories[e.category];
    c.bytes += sign * e.size;
    c.files += sign;
  }
}
