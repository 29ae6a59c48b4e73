// `--since 10m` / `--since 2026-12-06T10:00:00Z` and `--retry-after 5m`: durations and points in time as
// people type them. Shared by the CLI (to refuse a bad value before connecting to any host) and the
// agent (which resolves a duration against its own clock, the one its log lines were stamped with).

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90`, `90s`, `10m`, `2h`, `3d` → milliseconds; null when it is not one of those. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,9})(s|m|h|d)?$/.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * (UNITS[m[2] ?? 's'] as number);
}

export const SINCE_HINT =
  'a duration back from now (30s, 10m, 2h, 3d) or a time (2026-12-06T10:00:00Z, 2026-12-06 10:00)';

/** A duration back from `now`, or an absolute date/time (ISO 8601; without a zone it is UTC). */
export function parseSince(text: string, now = Date.now()): Date | null {
  const ms = parseDuration(text);
  if (ms !== null) return new Date(now - ms);
  const t = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$/.test(t)) return null;
  const zoned = /(Z|[+-]\d{2}:\d{2})$/.test(t) || t.length === 10 ? t : `${t}Z`;
  const d = new Date(zoned.replace(' ', 'T'));
  return Number.isNaN(d.getTime()) ? null : d;
}
