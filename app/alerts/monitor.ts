export type AlertSink = (
  message: string,
  details: { threshold: number; usedBytes: number; capacityBytes: number; percent: number },
) => void;

export interface AlertLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Raises an alert once each time total usage crosses a threshold upward, and re-arms when usage
 * falls back below it.
 *
 * The "already crossed" state lives in this process only: each host (and each cluster worker) keeps
 * its own, so when several serve at once each may send one alert for the same crossing, and a
 * restarted process starts afresh. The first observation after start is a baseline: thresholds
 * already exceeded then are logged, not sent, so a deploy or a restart does not repeat old alerts.
 */
export class CapacityMonitor {
  private level: number | null = null;

  constructor(
    private readonly capacityBytes: number,
    private readonly thresholds: readonly number[],
    private readonly sink: AlertSink,
    private readonly log: AlertLog,
  ) {}

  observe(usedBytes: number): void {
    const percent = (usedBytes / this.capacityBytes) * 100;
    let next = -1;
    this.thresholds.forEach((t, i) => {
      if (percent >= t) next = i;
    });
    const previous = this.level;
    this.level = next;
    const ctx = { usedBytes, capacityBytes: this.capacityBytes, percent: Math.round(percent * 10) / 10 };
    if (previous === null) {
      if (next >= 0)
        this.log.warn({ ...ctx, threshold: this.thresholds[next] }, 'storage usage above threshold at start');
      return;
    }
    if (next > previous) {
      const threshold = this.thresholds[next]!;
      const message =
        `Ferry storage usage crossed ${threshold}%: ${formatBytes(usedBytes)} of ` +
        `${formatBytes(this.capacityBytes)} (${ctx.percent}%)`;
      this.log.warn({ ...ctx, threshold }, message);
      this.sink(message, { ...ctx, threshold });
    } else if (next < previous) {
      this.log.info({ ...ctx, threshold: this.thresholds[previous] }, 'storage usage back below threshold');
    }
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
