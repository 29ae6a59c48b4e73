import { CATEGORIES, type Category } from '../storage/category';
import type { ObjectSummary, StorageBackend } from '../storage/types';
import { ListingCache } from './cache';

export interface CategoryUsage {
  bytes: number;
  files: number;
}

export interface UserUsage {
  bytes: number;
  files: number;
  categories: Record<Category, CategoryUsage>;
}

export interface Reservation {
  /** Bytes of this upload received so far. */
  bytes: number;
  release(): void;
}

/**
 * How usage is counted, with no database and any number of hosts:
 *
 * - A user's usage is the sum over a listing of their prefix (`files/{userId}/`), cached for
 *   USAGE_CACHE_SECONDS. This host's own uploads and deletes are folded into the cached value at
 *   once; other hosts' writes show up when the entry expires.
 * - Uploads in flight on this host are reserved byte by byte, so two concurrent uploads on one host
 *   cannot together pass the quota.
 * - The total (for capacity alerts) is a listing of all of `files/`, cached the same way.
 *
 * Limits, by design: two hosts racing can each accept the last upload that fits under a quota (the
 * overshoot is at most one upload per host per cache period); a listing costs one request per 1000
 * objects, so very large buckets want a longer USAGE_CACHE_SECONDS.
 */
export class UsageService {
  private readonly users: ListingCache<UserUsage>;
  private readonly totals: ListingCache<number>;
  private readonly inflight = new Map<string, Set<Reservation>>();

  constructor(
    private readonly storage: StorageBackend,
    cacheSeconds: number,
  ) {
    this.users = new ListingCache(cacheSeconds * 1000);
    this.totals = new ListingCache(cacheSeconds * 1000, 1);
  }

  user(userId: string): Promise<UserUsage> {
    return this.users.get(userId, async () => summarize(await this.storage.list(userId)));
  }

  /** The user's cached usage, without listing; undefined when not cached. */
  peek(userId: string): UserUsage | undefined {
    return this.users.peek(userId);
  }

  totalBytes(): Promise<number> {
    return this.totals.get('all', async () =>
      (await this.storage.list()).reduce((sum, o) => sum + o.size, 0),
    );
  }

  /** A fresh listing made for another reason (GET /v1/files) refreshes the cache for free. */
  refreshed(userId: string, listing: ObjectSummary[]): void {
    this.users.set(userId, summarize(listing));
  }

  reserve(userId: string): Reservation {
    let set = this.inflight.get(userId);
    if (!set) {
      set = new Set();
      this.inflight.set(userId, set);
    }
    const reservation: Reservation = {
      bytes: 0,
      release: () => {
        set.delete(reservation);
        if (set.size === 0 && this.inflight.get(userId) === set) this.inflight.delete(userId);
      },
    };
    set.add(reservation);
    return reservation;
  }

  reservedBytes(userId: string): number {
    let sum = 0;
    for (const r of this.inflight.get(userId) ?? []) sum += r.bytes;
    return sum;
  }

  recordPut(userId: string, category: Category, size: number): void {
    this.adjust(userId, category, size, 1);
  }

  recordDelete(userId: string, category: Category, size: number): void {
    this.adjust(userId, category, -size, -1);
  }

  private adjust(userId: string, category: Category, bytes: number, files: number): void {
    this.users.apply(userId, (u) => {
      const c = u.categories[category];
      return {
        bytes: u.bytes + bytes,
        files: u.files + files,
        categories: { ...u.categories, [category]: { bytes: c.bytes + bytes, files: c.files + files } },
      };
    });
    this.totals.apply('all', (total) => total + bytes);
  }
}

export function summarize(listing: ObjectSummary[]): UserUsage {
  const categories = Object.fromEntries(CATEGORIES.map((c) => [c, { bytes: 0, files: 0 }])) as Record<
    Category,
    CategoryUsage
  >;
  let bytes = 0;
  for (const o of listing) {
    bytes += o.size;
    categories[o.category].bytes += o.size;
    categories[o.category].files += 1;
  }
  return { bytes, files: listing.length, categories };
}
