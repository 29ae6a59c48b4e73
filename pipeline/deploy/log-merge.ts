// Puts the lines of many hosts in one time order. Each host's lines arrive in its own order; across hosts
// the backlogs are held until every host has sent its own (or failed), then printed sorted; while
// following, new lines are held for a moment (flush() on a timer) and printed sorted. Order across hosts
// is only as good as their clocks, which is why it is "where possible"; a host's own order is never changed.
import type { LogRecord } from '../agent/service/log-record';

export interface HostLogRecord extends LogRecord {
  host: string;
}

interface Pending {
  record: HostLogRecord;
  /** The time sorted by: the line's own, or the previous line's of that host when it has none. */
  at: number;
  seq: number;
}

export class LogMerger {
  private readonly waiting: Set<string>;
  /** Per host, in arrival order: a merge of these queues never reorders one host's lines. */
  private readonly queues = new Map<string, Pending[]>();
  private readonly lastTime = new Map<string, number>();
  private seq = 0;

  constructor(
    hosts: readonly string[],
    private readonly emit: (r: HostLogRecord) => void,
  ) {
    this.waiting = new Set(hosts);
  }

  add(host: string, record: LogRecord): void {
    const own = record.time === null ? Number.NaN : Date.parse(record.time);
    const at = Number.isFinite(own) ? own : (this.lastTime.get(host) ?? 0);
    this.lastTime.set(host, at);
    let q = this.queues.get(host);
    if (!q) {
      q = [];
      this.queues.set(host, q);
    }
    q.push({ record: { host, ...record }, at, seq: this.seq++ });
  }

  /** The host sent its whole backlog, or ended, or failed: the others no longer wait for it. */
  caughtUp(host: string): void {
    if (!this.waiting.delete(host)) return;
    if (this.waiting.size === 0) this.flush();
  }

  get backlogDone(): boolean {
    return this.waiting.size === 0;
  }

  /** Prints what is held, merged by time (arrival order among equal times), unless a backlog is still due. */
  flush(): void {
    if (this.waiting.size > 0) return;
    const heads = [...this.queues.values()].filter((q) => q.length > 0);
    const index = new Map(heads.map((q) => [q, 0]));
    for (;;) {
      let best: Pending[] | null = null;
      let bestHead: Pending | null = null;
      for (const q of heads) {
        const head = q[index.get(q) as number];
        if (
          head &&
          (!bestHead || head.at < bestHead.at || (head.at === bestHead.at && head.seq < bestHead.seq))
        ) {
          best = q;
          bestHead = head;
        }
      }
      if (!best || !bestHead) break;
      index.set(best, (index.get(best) as number) + 1);
      this.emit(bestHead.record);
    }
    for (const q of heads) q.length = 0;
  }

  /** Everything left, whoever is still waiting (the end of a run). */
  end(): void {
    this.waiting.clear();
    this.flush();
  }
}
