// Numbers as the tables show them, and the few statistics the parts need. Pure.

/** Nearest-rank percentile of unsorted samples (p in 0–100); NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  if (p < 0 || p > 100) throw new RangeError(`percentile must be 0–100, got ${p}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** "3.2×" for a/b; "–" when either side is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined, digits = 1): string {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(digits)}×`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB"; whole bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '–';
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

/** Decimal megabytes, as registries and Docker Hub print sizes: 45_300_000 → "45.3 MB". */
export function formatMB(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1e6).toFixed(1)} MB` : '–';
}

/** Milliseconds: "0.42 ms", "12.3 ms", "1,204 ms". */
export function formatMs(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms).toLocaleString('en-US')} ms`;
}

/** Seconds with one decimal: 2345 ms → "2.3 s". */
export function formatSeconds(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '–';
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Requests per second, grouped: 12345.6 → "12,346". */
export function formatRate(perSecond: number | null | undefined): string {
  if (perSecond == null || !Number.isFinite(perSecond)) return '–';
  return Math.round(perSecond).toLocaleString('en-US');
}

/** Throughput: bytes over ms → "412 MiB/s". */
export function formatThroughput(bytes: number, ms: number): string {
  if (!(ms > 0)) return '–';
  return `${formatBytes((bytes / ms) * 1000)}/s`;
}

/** Counts with thousands separators; "0" stays "0". */
export function formatCount(n: number | null | undefined): string {
  return n == null || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US');
}
