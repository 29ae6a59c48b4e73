import { DEFAULT_LINES } from '../../agent/logs/select';
import { parseSince, SINCE_HINT } from '../../agent/logs/since';
import type { HostLogRecord } from '../../deploy/log-merge';
import { streamLogs } from '../../deploy/logs';
import { UsageError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import type { Command, CommandContext } from '../command';
import { fleetContext } from '../fleet';
import type { Style } from '../io';

export const command: Command = {
  usage: 'ferry logs <env> [--host NAME] [-f] [--since 10m] [--lines N] [--release V] [--json]',
  help: `Prints the app's log from every host of <env> (or one), each line prefixed with its host, merged
in time order across hosts. Lines come from the supervisor, which marks each with the release and the
worker that printed it: .ferry/logs/service.log and its rotated files in process mode, the unit's
journal (journalctl -u) in systemd mode. Works over SSH and for local hosts. Reads only.

options:
      --host NAME      only this host
  -f, --follow         keep printing new lines until Ctrl-C, which closes every session and ends
                       every process it started on the hosts
      --since WHEN     lines since a duration ago (30s, 10m, 2h, 3d) or a time (2026-12-06T10:00:00Z)
  -n, --lines N        the newest N lines of each host (default ${DEFAULT_LINES}; all of them with --since)
      --release V      only lines printed by workers of release V
      --json           one JSON object per line: {host, time, release, pid, stream, line}

In systemd mode the deploy user reads the journal: it needs to be in the systemd-journal group
(sudo usermod -aG systemd-journal <user>) unless the journal is kept per user (docs/deploy.md).

examples:
  ferry logs production --since 10m
  ferry logs production --host web-2 -f
  ferry logs production --release 1.4.0 --json | jq -r 'select(.stream == "err") | .line'`,
  options: {
    host: { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
    since: { type: 'string' },
    lines: { type: 'string', short: 'n' },
    release: { type: 'string' },
  },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const since = typeof ctx.flags.since === 'string' ? ctx.flags.since : undefined;
    if (since !== undefined && parseSince(since) === null) {
      throw new UsageError(`--since "${since}" is not a duration or a time`, { remedy: `use ${SINCE_HINT}` });
    }
    const lines = linesFlag(ctx.flags.lines);
    const release = typeof ctx.flags.release === 'string' ? ctx.flags.release : undefined;
    if (release !== undefined && !/^[0-9A-Za-z][0-9A-Za-z.+_-]*$/.test(release)) {
      throw new UsageError(`--release "${release}" is not a version`, { remedy: 'e.g. --release 1.4.0' });
    }
    const follow = ctx.flags.follow === true;
    const fleet = fleetContext(ctx);
    const print = printer(ctx);
    const abort = new AbortController();
    // Ctrl-C ends a follow: every host's agent sees its stdin close and stops, and the CLI waits for them.
    const onSignal = () => abort.abort();
    const signals: NodeJS.Signals[] = follow ? ['SIGINT', 'SIGTERM', 'SIGHUP'] : [];
    for (const s of signals) process.on(s, onSignal);
    try {
      const { failures } = await streamLogs(fleet, {
        host: typeof ctx.flags.host === 'string' ? ctx.flags.host : undefined,
        follow,
        since,
        lines,
        release,
        signal: abort.signal,
        onRecord: print,
        onWarning: (host, message) => ctx.out.warn(`${host}: ${message}`),
      });
      for (const f of failures) ctx.io.stderr.write(`${ctx.style.red('error:')} ${f.host}: ${f.message}\n`);
      return failures.length > 0 ? ExitCode.Failure : ExitCode.Ok;
    } finally {
      for (const s of signals) process.off(s, onSignal);
    }
  },
};

function linesFlag(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new UsageError(`--lines must be a whole number, got "${String(value)}"`, {
      remedy: 'e.g. --lines 200',
    });
  }
  return n;
}

const HOST_COLOURS: (keyof Style)[] = ['cyan', 'green', 'yellow', 'bold'];

/** `host1  2026-12-06T10:00:00.123Z  1.4.0  GET /files 200`, or one JSON object per line with --json. */
export function formatLogLine(
  r: HostLogRecord,
  hostWidth: number,
  style: Style,
  colour: keyof Style,
): string {
  const text = r.stream === 'err' ? style.red(r.line) : r.line;
  return `${style[colour](r.host.padEnd(hostWidth))}  ${style.dim(r.time ?? '-'.padEnd(24))}  ${r.release ?? '-'}  ${text}`;
}

function printer(ctx: CommandContext): (r: HostLogRecord) => void {
  if (ctx.out.json) {
    return (r) =>
      ctx.io.stdout.write(
        `${JSON.stringify({ host: r.host, time: r.time, release: r.release, pid: r.pid, stream: r.stream, line: r.line })}\n`,
      );
  }
  const names = ctx.config().environments[ctx.positionals[0] as string]?.hosts.map((h) => h.name) ?? [];
  const width = Math.max(0, ...names.map((n) => n.length));
  const colours = new Map(names.map((n, i) => [n, HOST_COLOURS[i % HOST_COLOURS.length] as keyof Style]));
  return (r) => ctx.io.stdout.write(`${formatLogLine(r, width, ctx.style, colours.get(r.host) ?? 'bold')}\n`);
}
