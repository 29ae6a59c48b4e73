// `agent logs [--follow] [--since S] [--lines N] [--release V]`: the service log as JSON lines, one
// {"event":"log", time, release, pid, stream, line} per line, oldest first, from service.log (process
// mode) or the unit's journal (systemd mode). With --follow, a {"event":"caught-up"} line ends the
// backlog and new lines follow until the agent is told to stop: its stdin closes (the CLI's SSH channel
// or pipe went away: Ctrl-C), a SIGTERM/SIGINT/SIGHUP, or its stdout is gone. It then stops its
// journalctl, so nothing is left running on the host.
import { fstatSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { AgentContext } from '../context';
import { AgentError } from '../errors';
import { sleep } from '../host/proc';
import type { OpOutcome } from '../outcome';
import { loadServiceConfig } from '../service/config';
import type { LogRecord } from '../service/log-record';
import { FileFollower, openCurrent, readBacklog } from './files';
import { followJournal, journalBacklog, permissionWarning } from './journal-reader';
import { DEFAULT_LINES, type LogQuery, matches } from './select';
import { parseSince, SINCE_HINT } from './since';

export interface LogsArgs {
  follow: boolean;
  since?: string;
  lines?: number;
  release?: string;
}

const POLL_MS = 200;

export function logQuery(args: LogsArgs, now = Date.now()): LogQuery {
  let since: Date | null = null;
  if (args.since !== undefined) {
    since = parseSince(args.since, now);
    if (since === null) {
      throw new AgentError('usage', `--since "${args.since}" is not a duration or a time`, {
        remedy: `use ${SINCE_HINT}`,
      });
    }
  }
  return {
    since,
    lines: args.lines ?? (since === null ? DEFAULT_LINES : null),
    release: args.release ?? null,
  };
}

/** Resolves when the follow should end, with why. */
function stopWhenTold(): { stopped: Promise<string>; dispose(): void } {
  let fire: (why: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => {
    fire = resolve;
  });
  const onSignal = (sig: NodeJS.Signals) => fire(sig);
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const onOutputGone = () => fire('stdout closed');
  process.stdout.on('error', onOutputGone);
  // Only a pipe or a socket says the reader left by closing; /dev/null or a terminal would end at once.
  let watchesStdin = false;
  try {
    const st = fstatSync(0);
    watchesStdin = st.isFIFO() || st.isSocket();
  } catch {
    watchesStdin = false;
  }
  const onInputClosed = () => fire('stdin closed');
  if (watchesStdin) {
    process.stdin.on('end', onInputClosed).on('close', onInputClosed).on('error', onInputClosed);
    process.stdin.resume();
  }
  return {
    stopped,
    dispose() {
      for (const s of signals) process.off(s, onSignal);
      if (watchesStdin) {
        process.stdin.off('end', onInputClosed).off('close', onInputClosed).off('error', onInputClosed);
        process.stdin.pause();
      }
    },
  };
}

export async function logs(ctx: AgentContext, args: LogsArgs): Promise<OpOutcome> {
  const { paths, report } = ctx;
  const q = logQuery(args);
  const config = await loadServiceConfig(paths.serviceConfig);
  let count = 0;
  const emit = (r: LogRecord): boolean => {
    count++;
    return report.line({ event: 'log', ...r });
  };
  const emitAll = async (records: LogRecord[]) => {
    for (const r of records) if (!emit(r)) await report.drained();
  };
  const fields = () => ({ mode: config.mode, count, follow: args.follow });
  // Set up before the backlog is read, so a Ctrl-C during a long read is not lost.
  const stop = args.follow ? stopWhenTold() : null;
  try {
    if (config.mode === 'systemd') {
      const backlog = await journalBacklog(config.unitName, q);
      const warning = permissionWarning(backlog.stderr, userInfo().username);
      if (warning) report.line({ event: 'warning', message: warning });
      await emitAll(backlog.records);
      if (!stop) return { ok: true, fields: fields() };
      report.line({ event: 'caught-up' });
      const run = followJournal(config.unitName, q, backlog.cursor, emit, () => report.drained());
      const told = { why: null as string | null };
      void stop.stopped.then((w) => {
        told.why = w;
      });
      await Promise.race([run.done, stop.stopped]);
      run.stop();
      const { code, stderr } = await run.done;
      // Over SSH, Ctrl-C signals the whole process group: journalctl may end a moment before we hear why.
      await Promise.race([stop.stopped, sleep(100)]);
      if (told.why === null) {
        throw new AgentError(
          'logs_unavailable',
          `journalctl -f ended (exit ${code}): ${stderr.trim().slice(0, 500)}`,
        );
      }
      return { ok: true, fields: { ...fields(), stopped: told.why } };
    }
    const current = await openCurrent(paths.serviceLog);
    const follower = new FileFollower(paths.serviceLog, current);
    try {
      await emitAll(await readBacklog(paths.serviceLog, q, current));
      if (!stop) return { ok: true, fields: fields() };
      report.line({ event: 'caught-up' });
      const end = { why: null as string | null };
      void stop.stopped.then((w) => {
        end.why = w;
      });
      while (end.why === null) {
        await emitAll((await follower.poll()).filter((r) => matches(q, r)));
        await Promise.race([sleep(POLL_MS), stop.stopped]);
      }
      return { ok: true, fields: { ...fields(), stopped: end.why } };
    } finally {
      await follower.close();
    }
  } finally {
    stop?.dispose();
  }
}
