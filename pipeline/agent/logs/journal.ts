// systemd mode: the service log is the unit's journal. Pure parts here (the journalctl command line, one
// JSON entry → a record); journal-reader.ts runs them.
import { type LogRecord, parseJournalMessage } from '../service/log-record';

export interface JournalQuery {
  unit: string;
  since?: Date | null;
  /** The newest N entries; 'all' lifts journalctl's default of 10 when following. */
  lines?: number | 'all';
  /** Entries strictly after this one (from a previous read's __CURSOR): a follow that misses nothing. */
  afterCursor?: string | null;
  follow?: boolean;
}

export function journalctlArgv(q: JournalQuery): string[] {
  const argv = ['journalctl', '--unit', q.unit, '--output', 'json', '--no-pager'];
  // `@<seconds>` is the one --since form that needs no time zone; the agent filters the fraction itself.
  if (q.since) argv.push('--since', `@${Math.floor(q.since.getTime() / 1000)}`);
  if (q.lines !== undefined) argv.push('--lines', String(q.lines));
  if (q.afterCursor) argv.push('--after-cursor', q.afterCursor);
  if (q.follow) argv.push('--follow');
  return argv;
}

/** The journal's words when the deploy user may read only its own journal files, or none. */
export function journalPermissionHint(stderr: string): boolean {
  return /not seeing messages from other users|insufficient permissions|no journal files were (found|opened)/i.test(
    stderr,
  );
}

/** One line of `journalctl -o json`; null for anything else (journalctl's own notices). */
export function journalRecord(jsonLine: string): { record: LogRecord; cursor: string | null } | null {
  if (!jsonLine.startsWith('{')) return null;
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return null;
  }
  const us = Number(e.__REALTIME_TIMESTAMP);
  const time = Number.isFinite(us) && us > 0 ? new Date(Math.floor(us / 1000)).toISOString() : null;
  const pid = Number(e._PID);
  const record = parseJournalMessage(
    messageText(e.MESSAGE),
    time,
    Number.isSafeInteger(pid) && pid > 0 ? pid : null,
  );
  return { record, cursor: typeof e.__CURSOR === 'string' ? e.__CURSOR : null };
}

/** MESSAGE is a string, or an array of bytes when it is not valid UTF-8, or null. */
function messageText(m: unknown): string {
  if (typeof m === 'string') return m;
  if (Array.isArray(m))
    return Buffer.from(m.filter((b): b is number => typeof b === 'number')).toString('utf8');
  return '';
}
