import type { FileRecord } from '../storage/types';
import type { PageQuery, UserUsage } from './user-index';

export type { PageQuery, UserUsage };

export interface CatalogPage {
  items: FileRecord[];
  nextCursor: string | null;
}

/**
 * What the service knows about the files of each user, without listing storage on the request path:
 * an index per user, kept by this process's own writes and reconciled with storage in the background.
 * Disk: a per-user append-only log every worker tails (disk-catalog.ts). OSS: ListObjectsV2 pages with
 * continuation tokens, walked once and then in the background (oss-catalog.ts).
 */
export interface Catalog {
  /** Newest first. Costs the page (plus, on OSS, a HEAD for files never seen before), not the total. */
  page(userId: string, query: PageQuery): Promise<CatalogPage>;
  usage(userId: string): Promise<UserUsage>;
  /** The quota-relevant bytes already known in memory, without waiting: undefined if not loaded. */
  chargedBytes(userId: string): number | undefined;
  /** Whether the loaded index counts this file already (no waiting; false when not loaded). */
  counts(userId: string, id: string): boolean;
  /** Called by the backend once a file is stored, or removed. */
  added(record: FileRecord): Promise<void>;
  removed(userId: string, id: string): Promise<void>;
  /** Every user's bytes, for capacity alerts: a walk of everything, so only ever in the background. */
  totalBytes(): Promise<number>;
  /** Brings every loaded index in line with storage now (tests; the timer does it otherwise). */
  reconcileAll(): Promise<void>;
  close(): void;
}

export interface CatalogOptions {
  minChargeBytes: number;
  /** How often loaded indexes are compared with storage (USAGE_CACHE_SECONDS). */
  reconcileMs: number;
  /** Entries kept in memory across users before the least recently used users are dropped. */
  maxCachedFiles?: number;
  log?: { warn(obj: object, msg: string): void };
}
