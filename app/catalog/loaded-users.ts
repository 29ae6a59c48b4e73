import type { UserIndex } from './user-index';

export interface Loaded {
  index: UserIndex;
  lastUsed: number;
}

/**
 * The users whose index is in memory: loaded once at a time per user (concurrent callers share the
 * load), least recently used dropped first once their entries pass `maxFiles` (a dropped user is simply
 * loaded again on next use).
 */
export class LoadedUsers<U extends Loaded> {
  private readonly users = new Map<string, U>();
  private readonly loading = new Map<string, Promise<U>>();

  constructor(
    private readonly load: (userId: string) => Promise<U>,
    private readonly maxFiles: number,
  ) {}

  peek(userId: string): U | undefined {
    return this.users.get(userId);
  }

  isLoading(userId: string): boolean {
    return this.loading.has(userId);
  }

  async get(userId: string): Promise<U> {
    const known = this.users.get(userId);
    if (known) {
      known.lastUsed = Date.now();
      // Re-insert: Map order doubles as least-recently-used order.
      this.users.delete(userId);
      this.users.set(userId, known);
      return known;
    }
    let pending = this.loading.get(userId);
    if (!pending) {
      pending = this.load(userId).then(
        (u) => {
          this.loading.delete(userId);
          u.lastUsed = Date.now();
          this.users.set(userId, u);
          this.evict(userId);
          return u;
        },
        (err: unknown) => {
          this.loading.delete(userId);
          throw err;
        },
      );
      this.loading.set(userId, pending);
    }
    return pending;
  }

  /** Replaces a user's entry (after a full reload). */
  set(userId: string, u: U): void {
    this.users.set(userId, u);
  }

  entries(): [string, U][] {
    return [...this.users.entries()];
  }

  drop(userId: string): void {
    this.users.delete(userId);
  }

  private evict(keep: string): void {
    let total = 0;
    for (const u of this.users.values()) total += u.index.size;
    for (const [id, u] of this.users) {
      if (total <= this.maxFiles) break;
      if (id === keep) continue;
      this.users.delete(id);
      total -= u.index.size;
    }
  }
}
