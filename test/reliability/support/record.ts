// Each reliability case records what it proves and how it went, one JSON line per case, in the file named
// by FERRY_RELIABILITY_LOG. scripts/reliability-report.ts sets the variable, runs the suite and turns the
// lines into docs/reliability.md, so the document is the last run's outcome and cannot drift from the
// tests. Without the variable nothing is written: the suite runs the same under a plain `npx vitest run`.
import { appendFileSync } from 'node:fs';

export type Suite =
  | 'crash-matrix'
  | 'cli-crash'
  | 'tampered'
  | 'archives'
  | 'registry-faults'
  | 'disk-full'
  | 'service-hostile'
  | 'service-concurrency'
  | 'service-slow-clients'
  | 'service-floods'
  | 'secret-files';

export interface CaseRecord {
  suite: Suite;
  case: string;
  proves: string;
  result: 'pass' | 'fail';
  detail: string;
}

/** Adds a fact to the case's detail column (what was observed: exit code, versions, paths used). */
export type Note = (detail: string) => void;

export const RELIABILITY_LOG_ENV = 'FERRY_RELIABILITY_LOG';

function write(rec: CaseRecord): void {
  const file = process.env[RELIABILITY_LOG_ENV];
  // One short line per append: O_APPEND writes this small land whole even with two test workers.
  if (file) appendFileSync(file, `${JSON.stringify(rec)}\n`);
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n').find((l) => l.trim()) ?? text).slice(0, 300);
}

/**
 * Wraps a test body: runs it, then records pass (with the notes) or fail (with the first line of the
 * error, which is rethrown so vitest fails the test too).
 */
export function recorded(
  meta: { suite: Suite; case: string; proves: string },
  body: (note: Note) => Promise<void>,
): () => Promise<void> {
  return async () => {
    const notes: string[] = [];
    try {
      await body((d) => notes.push(d));
    } catch (err) {
      write({ ...meta, result: 'fail', detail: firstLine(err) });
      throw err;
    }
    write({ ...meta, result: 'pass', detail: notes.join('; ') });
  };
}
