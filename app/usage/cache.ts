/**
 * A small TTL cache for values computed by listing storage, kept correct against this process's
 * own writes:
 * - get() loads at most once at a time per key (concurrent callers share the load);
 * - apply() folds a write of this process into the cached value, so the next upload's quota check
 *   sees it without listing again;
 * - a write that lands while a load is running may or may not be in that listing, so the load is
 *   repeated rather than cached.
 * Writes by other processes become visible when the entry expires (USAGE_CACHE_SECONDS).
 */
interface Entry<T> {
  value?: T;
  expiresAt: number;
  loading?: Promise<T>;
  dirty: boolean;
}

export class ListingCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(key) ?? { expiresAt: 0, dirty: false };
    if (entry.loading) return entry.loading;
    if (entry.value !== undefined && this.now() < entry.expiresAt) return Promise.resolve(entry.value);
    this.entries.delete(key);
    this.entries.set(key, entry); // re-insert: Map order doubles as least-recently-loaded order
    this.evict();
    entry.loading = (async () => {
      try {
        for (let attempt = 0; ; attempt++) {
          entry.dirty = false;
          const value = await load();
          if (!entry.dirty || attempt >= 2) {
            entry.value = value;
            entry.expiresAt = entry.dirty ? 0 : this.now() + this.ttlMs;
            return value;
          }
        }
      } finally {
        entry.loading = undefined;
      }
    })();
    return entry.loading;
  }

  /** The cached value, if any, without loading. */
  peek(key: string): T | undefined {
    return this.entries.get(key)?.value;
  }

  /** Applies this process's own write to the cached value (or marks a running load stale). */
  apply(key: string, update: (value: T) => T): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    if (entry.loading) entry.dirty = true;
    else if (entry.value !== undefined) entry.value = update(entry.value);
  }

  /** Stores a value just computed elsewhere (a fresh listing), unless a load is running. */
  set(key: string, value: T): void {
    const entry = this.entries.get(key);
    if (entry?.loading) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs, dirty: false });
    this.evict();
  }

  private evict(): void {
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}
