// Runs journalctl for `agent logs` in systemd mode: once for the backlog, then (with -f) once more from
// the backlog's last cursor, so nothing between the two is lost or printed twice. The follow's
// journalctl is this agent's child and is stopped with it.
import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { AgentError } from '../errors';
import type { LogRecord } from '../service/log-record';
import { type JournalQuery, journalctlArgv, journalPermissionHint, journalRecord } from './journal';
import { LastN, type LogQuery, matches } from './select';

export interface JournalRun {
  /** journalctl exited (or was stopped); its stderr and exit code. */
  done: Promise<{ code: number | null; stderr: string }>;
  stop(): void;
}

function run(
  q: JournalQuery,
  onRecord: (r: LogRecord, cursor: string | null) => boolean | undefined,
  drained?: () => Promise<void>,
): JournalRun {
  const [cmd, ...args] = journalctlArgv(q);
  const child = spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    let full = false;
    for (const l of lines) {
      const e = journalRecord(l);
      if (e && onRecord(e.record, e.cursor) === false) full = true;
    }
    // Our stdout is full (a slow SSH reader): journalctl waits rather than lines piling up in memory.
    if (full && drained) {
      child.stdout.pause();
      void drained().then(() => child.stdout.resume());
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d;
  });
  const done = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    child.on('error', (err) => {
      reject(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? new AgentError('logs_unavailable', 'journalctl is not installed on this host', {
              remedy:
                'systemd mode logs to journald; install systemd (journalctl), or use service.mode: process',
            })
          : err,
      );
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
  return { done, stop: () => child.kill('SIGTERM') };
}

/** What the deploy user cannot see, said with the fix. */
export function permissionWarning(stderr: string, user: string): string | null {
  if (!journalPermissionHint(stderr)) return null;
  return `journalctl cannot read the system journal as ${user}, so lines may be missing: add the user to the systemd-journal group (sudo usermod -aG systemd-journal ${user})`;
}

export async function journalBacklog(
  unit: string,
  q: LogQuery,
): Promise<{ records: LogRecord[]; cursor: string | null; stderr: string }> {
  const keep = new LastN<LogRecord>(q.lines);
  let cursor: string | null = null;
  // Without --release, journalctl can pick the newest N itself; with it, the newest N of that release may
  // lie further back. At least one entry is read either way: its cursor is where a follow starts.
  const lines = q.release === null && q.lines !== null ? Math.max(q.lines, 1) : undefined;
  const r = run({ unit, since: q.since, lines }, (rec, c) => {
    cursor = c ?? cursor;
    if (matches(q, rec)) keep.push(rec);
    return true;
  });
  const { code, stderr } = await r.done;
  if (code !== 0) {
    const user = userInfo().username;
    throw new AgentError('logs_unavailable', `journalctl exited ${code}: ${stderr.trim().slice(0, 500)}`, {
      remedy: journalPermissionHint(stderr)
        ? `let ${user} read the journal: sudo usermod -aG systemd-journal ${user}`
        : `run journalctl -u ${unit} on the host to see why`,
    });
  }
  return { records: keep.values(), cursor, stderr };
}

export function followJournal(
  unit: string,
  q: LogQuery,
  cursor: string | null,
  onRecord: (r: LogRecord) => boolean,
  drained: () => Promise<void>,
): JournalRun {
  // After the last entry the backlog saw; if it saw none, everything that matches now is new.
  const from: JournalQuery = cursor ? { unit, afterCursor: cursor } : { unit, since: q.since };
  return run(
    { ...from, lines: 'all', follow: true },
    (rec) => (matches(q, rec) ? onRecord(rec) : true),
    drained,
  );
}
