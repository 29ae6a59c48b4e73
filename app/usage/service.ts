import type { UserUsage } from '../catalog/user-index';
import type { StorageBackend } from '../storage/types';
import { ListingCache } from './cache';

export type { CategoryUsage, UserUsage } from '../catalog/user-index';

export interface Reservation {
  /** Bytes of this upload received so far. */
  bytes: number;
  /** The file's id once chosen: from the moment the catalog counts that file, this stops counting. */
  id?: string;
  release(): void;
}

/**
 * How usage is counted, with no database and any number of hosts:
 *
 * - A user's usage is kept by the storage catalog (catalog/): incremental, updated as files are stored
 *   and deleted, reconciled with storage in the background. No request ever recomputes it by listing.
 * - Uploads in flight on this process are reserved byte by byte (and count as one file each), so two
 *   concurrent uploads on one process cannot together pass the quota or the file limit.
 * - Each file counts against the quota as at least MIN_FILE_CHARGE bytes: an empty file still costs a
 *   block (and a folder, or an object), and 40,000 of them were free before.
 * - The total (for capacity alerts) is a walk of everything, cached for USAGE_CACHE_SECONDS and only
 *   ever computed in the background (after a write, or at start).
 */
export class UsageService {
  private readonly totals: ListingCache<number>;
  private readonly inflight = new Map<string, Set<Reservation>>();

  constructor(
    private readonly storage: StorageBackend,
    cacheSeconds: number,
    private readonly minChargeBytes: number,
  ) {
    this.totals = new ListingCache(cacheSeconds * 1000, 1);
  }

  user(userId: string): Promise<UserUsage> {
    return this.storage.catalog.usage(userId);
  }

  /** Quota-relevant bytes stored, as known right now (no waiting): for the per-chunk upload check. */
  chargedBytes(userId: string): number | undefined {
    return this.storage.catalog.chargedBytes(userId);
  }

  totalBytes(): Promise<number> {
    return this.totals.get('all', () => this.storage.catalog.totalBytes());
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

  /** What this process's uploads in flight will cost at least: each its bytes so far, or the minimum. */
  reservedBytes(userId: string): number {
    let sum = 0;
    for (const r of this.pending(userId)) sum += Math.max(r.bytes, this.minChargeBytes);
    return sum;
  }

  reservedFiles(userId: string): number {
    let n = 0;
    for (const _ of this.pending(userId)) n++;
    return n;
  }

  // An upload whose file the catalog already counts is not counted twice while its request winds up.
  private *pending(userId: string): Generator<Reservation> {
    for (const r of this.inflight.get(userId) ?? []) {
      if (r.id === undefined || !this.storage.catalog.counts(userId, r.id)) yield r;
    }
  }

  /** Folds this process's own write into the cached total. */
  recordWrite(bytes: number): void {
    this.totals.apply('all', (total) => total + bytes);
  }
}
