// Whether docs/reliability.md still shows what the suite proves: its case rows against the rows a run
// recorded, rendered by the same renderReport(), so escaping and layout cannot differ. Pure, so it is
// unit-tested; scripts/reliability-report.ts --check runs it, and .ci/run fails on drift.
//
// Compared: each row's section, case, claim ("Proves") and result exactly, and its detail with what
// legitimately changes between runs masked: times, dates, durations, random hex (keys, digests) and
// numbers of 4 digits or more (byte sizes, ports). Rows are compared as a multiset, so the order in
// which a suite's tests happened to finish does not matter; the run header (date, machine, totals) is
// ignored. Rows added by any suite, known to render.ts or not, are compared the same way.
import type { CaseRecord } from './record';
import { type RunInfo, renderReport } from './render';

export interface PageRow {
  section: string;
  case: string;
  proves: string;
  result: string;
  detail: string;
}

const HEADER = '| Case | Proves | Result | Detail |';

/** Splits a table line on its unescaped pipes; cells keep their escapes (`\|`), trimmed. */
function cells(line: string): string[] {
  return line
    .slice(1, line.endsWith('|') && !line.endsWith('\\|') ? -1 : undefined)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** The case rows of a rendered page, section by section. */
export function pageRows(markdown: string): PageRow[] {
  const rows: PageRow[] = [];
  let section = '';
  let inTable = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## ')) {
      section = line.slice(3).trim();
      inTable = false;
    } else if (line === HEADER) inTable = true;
    else if (inTable && line.startsWith('|---')) continue;
    else if (inTable && line.startsWith('|')) {
      const [c, proves, result, detail] = cells(line);
      rows.push({ section, case: c ?? '', proves: proves ?? '', result: result ?? '', detail: detail ?? '' });
    } else inTable = false;
  }
  return rows;
}

const EMPTY_RUN: RunInfo = {
  date: '',
  machine: '',
  node: '',
  command: '',
  durationSec: 0,
  vitest: { total: 0, passed: 0, failed: 0, skipped: 0 },
  failedTests: [],
};

/** The rows a run's records would put on the page. */
export function recordedRows(records: CaseRecord[]): PageRow[] {
  return pageRows(renderReport(records, EMPTY_RUN));
}

/** A detail with what changes from run to run masked. */
export function maskDetail(detail: string): string {
  return detail
    .replace(/\b\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?)?/g, '<time>')
    .replace(/\b\d+(\.\d+)?\s?(ms|s)\b/g, '<duration>')
    .replace(/\b[0-9a-f]{8,}\b/g, '<hex>')
    .replace(/\b\d{4,}\b/g, '<n>');
}

const keyOf = (r: PageRow) => [r.section, r.case, r.proves, r.result, maskDetail(r.detail)].join('\u0000');

export interface Drift {
  /** On the page, but not what the run proved. */
  stale: PageRow[];
  /** Proved by the run, but not on the page. */
  missing: PageRow[];
}

export function compareRows(page: PageRow[], run: PageRow[]): Drift {
  const left = new Map<string, PageRow[]>();
  for (const r of page) left.set(keyOf(r), [...(left.get(keyOf(r)) ?? []), r]);
  const missing: PageRow[] = [];
  for (const r of run) {
    const same = left.get(keyOf(r));
    if (same && same.length > 0) same.pop();
    else missing.push(r);
  }
  return { stale: [...left.values()].flat(), missing };
}

/** What to tell the person whose change drifted the page. Empty when nothing drifted. */
export function describeDrift(d: Drift, page: string): string {
  if (d.stale.length === 0 && d.missing.length === 0) return '';
  const show = (r: PageRow) => `  [${r.section}] ${r.case} | ${r.proves} | ${r.result} | ${r.detail}`;
  return [
    `${page} no longer shows what the reliability suite proves (times, dates, sizes and keys aside):`,
    ...(d.stale.length > 0
      ? [`on the page, not proved by this run (${d.stale.length}):`, ...d.stale.map(show)]
      : []),
    ...(d.missing.length > 0
      ? [`proved by this run, not on the page (${d.missing.length}):`, ...d.missing.map(show)]
      : []),
    'regenerate it with the change that alters it: npx tsx scripts/reliability-report.ts',
  ].join('\n');
}
