// One line of the service log, as the supervisor writes it and `agent logs` reads it back. Every line
// says which release and which process printed it, so `ferry logs --release V` can pick a release's lines
// out of a log that several generations shared, and lines from many hosts can be merged by time.
//
//   process mode (.ferry/logs/service.log): 2026-12-06T10:00:00.123Z 1.4.0 4242 out GET /files 200
//   systemd mode (journald's MESSAGE):      1.4.0 4242 out GET /files 200
//
// journald stamps each entry itself, so the time is left out there. The release is `-` for the
// supervisor's own lines (stream `sup`).

export type LogStream = 'out' | 'err' | 'sup' | 'other';

export interface LogRecord {
  /** ISO 8601, UTC; null when the line carries none (an old-format line, stray output). */
  time: string | null;
  release: string | null;
  pid: number | null;
  stream: LogStream;
  line: string;
}

const ISO = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?Z';
const BODY = '(\\S+) (\\d+) (out|err|sup) ?(.*)';
const WITH_TIME = new RegExp(`^(${ISO}) ${BODY}$`, 's');
const WITHOUT_TIME = new RegExp(`^${BODY}$`, 's');
const TIME_ONLY = new RegExp(`^(${ISO}) (.*)$`, 's');

/** The line as written: `time` is included for a file, left out for journald. */
export function formatRecord(r: Omit<LogRecord, 'time'> & { time?: string | null }): string {
  const head = `${r.release ?? '-'} ${r.pid ?? 0} ${r.stream === 'other' ? 'out' : r.stream} ${r.line}`;
  return r.time ? `${r.time} ${head}` : head;
}

function fromMatch(time: string | null, m: RegExpExecArray, offset: number): LogRecord {
  const release = m[offset] as string;
  const pid = Number(m[offset + 1]);
  return {
    time,
    release: release === '-' ? null : release,
    pid: pid > 0 ? pid : null,
    stream: m[offset + 2] as LogStream,
    line: m[offset + 3] ?? '',
  };
}

/** A line of service.log. Lines in another format (written before this one existed) keep their text. */
export function parseFileLine(text: string): LogRecord {
  const full = WITH_TIME.exec(text);
  if (full) return fromMatch(full[1] as string, full, 2);
  const timed = TIME_ONLY.exec(text);
  if (timed)
    return { time: timed[1] as string, release: null, pid: null, stream: 'other', line: timed[2] ?? '' };
  return { time: null, release: null, pid: null, stream: 'other', line: text };
}

/** A journald MESSAGE: the supervisor's prefix when it has one; else (systemd's own lines) the text as is. */
export function parseJournalMessage(message: string, time: string | null, pid: number | null): LogRecord {
  const m = WITHOUT_TIME.exec(message);
  if (m) return fromMatch(time, m, 1);
  return { time, release: null, pid, stream: 'other', line: message };
}
