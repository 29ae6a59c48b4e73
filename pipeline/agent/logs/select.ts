// Which records `agent logs` prints: those of a release, since a time, the newest N of them.
import type { LogRecord } from '../service/log-record';

/** Without --since or --lines, the backlog is this many lines per host. */
export const DEFAULT_LINES = 100;

export interface LogQuery {
  since: Date | null;
  /** The newest N matching lines of the backlog; null: all of them. */
  lines: number | null;
  release: string | null;
}

/** A line with no time of its own (written before lines carried one) is not dropped by --since. */
export function matches(q: LogQuery, r: LogRecord): boolean {
  if (q.release !== null && r.release !== q.release) return false;
  if (q.since !== null && r.time !== null && Date.parse(r.time) < q.since.getTime()) return false;
  return true;
}

/** Keeps the last `max` items pushed (all of them when max is null). */
export class LastN<T> {
  private items: T[] = [];
  constructor(private readonly max: number | null) {}

  push(item: T): void {
    if (this.max === 0) return;
    this.items.push(item);
    // Trimmed in batches, so pushing a million lines stays linear.
    if (this.max !== null && this.items.length > this.max * 2 + 1024)
      this.items = this.items.slice(-this.max);
  }

  get size(): number {
    return this.max === null ? this.items.length : Math.min(this.items.length, this.max);
  }

  values(): T[] {
    return this.max === null ? this.items : this.items.slice(-this.max);
  }
}
