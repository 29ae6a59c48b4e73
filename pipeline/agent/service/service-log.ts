// Where the supervisor's output and every worker's goes, one prefixed line at a time (log-record.ts).
// systemd mode: the supervisor's stdout/stderr, which the unit sends to journald (it bounds itself).
// Process mode: .ferry/logs/service.log, written and rotated here. The supervisor sees every byte its
// workers print, so it can bound the file itself: when a write would take it past `maxBytes` it becomes
// service.log.1 (.1 becomes .2, …) and a fresh file starts; `files` rotated files are kept. A shell
// redirect could not do this without a logrotate the host may not have, and copytruncate loses lines.
import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { formatRecord, type LogStream } from './log-record';

export interface ServiceLog {
  /** One line from the supervisor itself. */
  line(text: string): void;
  /** A line-splitting writer for one process's stream: partial lines wait for their newline. */
  writer(release: string | null, pid: number | null, stream: 'out' | 'err'): LineWriter;
  /** Writes out what is buffered, synchronously (before an exit). */
  flush(): void;
  /** Process mode: a new size bound from service.json on reload; ignored by journald. */
  configure?(limits: { maxBytes: number; files: number }): void;
}

export interface LineWriter {
  write(chunk: Buffer | string): void;
  /** The process closed its stream: an unterminated last line is written as it is. */
  end(): void;
}

/** A line with no newline in sight is cut here, so one runaway write cannot hold memory or a file. */
export const MAX_LINE_BYTES = 16 * 1024;

function lineWriter(emit: (line: string) => void): LineWriter {
  let partial = '';
  return {
    write(chunk) {
      const text = partial + chunk.toString();
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) emit(p.replace(/\r$/, ''));
      while (partial.length > MAX_LINE_BYTES) {
        emit(partial.slice(0, MAX_LINE_BYTES));
        partial = partial.slice(MAX_LINE_BYTES);
      }
    },
    end() {
      if (partial.length > 0) emit(partial);
      partial = '';
    },
  };
}

/** systemd mode: prefixed lines on stdout (app stdout) and stderr (app stderr, the supervisor's lines). */
export function journalLog(
  out: { write(s: string): unknown } = process.stdout,
  err: { write(s: string): unknown } = process.stderr,
): ServiceLog {
  const emit = (stream: LogStream, release: string | null, pid: number | null, line: string) =>
    (stream === 'out' ? out : err).write(`${formatRecord({ release, pid, stream, line })}\n`);
  return {
    line: (text) => emit('sup', null, process.pid, text),
    writer: (release, pid, stream) => lineWriter((l) => emit(stream, release, pid, l)),
    flush: () => {},
  };
}

/** The names of a rotated log, newest first: service.log, service.log.1, … service.log.<files>. */
export function rotatedNames(path: string, files: number): string[] {
  return [path, ...Array.from({ length: files }, (_, i) => `${path}.${i + 1}`)];
}

/**
 * Process mode. Lines are buffered and written with one write(2) per turn of the event loop, so a chatty
 * app costs a syscall per burst, not per line; flush() writes synchronously for a fatal exit.
 */
export class RotatingFileLog implements ServiceLog {
  private fd: number;
  private size: number;
  private buffer: string[] = [];
  private scheduled = false;

  constructor(
    private readonly path: string,
    private limits: { maxBytes: number; files: number },
  ) {
    this.fd = openSync(path, 'a', 0o640);
    this.size = fstatSync(this.fd).size;
  }

  configure(limits: { maxBytes: number; files: number }): void {
    this.limits = limits;
  }

  line(text: string): void {
    this.push('sup', null, process.pid, text);
  }

  writer(release: string | null, pid: number | null, stream: 'out' | 'err'): LineWriter {
    return lineWriter((l) => this.push(stream, release, pid, l));
  }

  private push(stream: LogStream, release: string | null, pid: number | null, line: string): void {
    this.buffer.push(`${formatRecord({ time: new Date().toISOString(), release, pid, stream, line })}\n`);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.buffer.length === 0) return;
    const lines = this.buffer;
    this.buffer = [];
    // Whole lines only: a rotation never splits one between two files.
    let chunk = '';
    let chunkBytes = 0;
    for (const l of lines) {
      const n = Buffer.byteLength(l);
      if (this.size + chunkBytes + n > this.limits.maxBytes && this.size + chunkBytes > 0) {
        this.write(chunk);
        chunk = '';
        chunkBytes = 0;
        this.rotate();
      }
      chunk += l;
      chunkBytes += n;
    }
    this.write(chunk);
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private write(text: string): void {
    if (text.length === 0) return;
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off);
    this.size += buf.length;
  }

  private rotate(): void {
    closeSync(this.fd);
    const names = rotatedNames(this.path, this.limits.files);
    // The oldest goes; each other file moves one place back; renames keep a reader's open file intact.
    rmSync(names[names.length - 1] as string, { force: true });
    for (let i = names.length - 2; i >= 0; i--) {
      try {
        renameSync(names[i] as string, names[i + 1] as string);
      } catch {
        // that one did not exist yet
      }
    }
    this.fd = openSync(this.path, 'a', 0o640);
    this.size = 0;
  }
}

/** The supervisor's log for this host's mode: journald through stdout/stderr, or the rotated file. */
export async function openServiceLog(
  paths: { logs: string; serviceLog: string },
  config: { mode: 'process' | 'systemd'; logMaxBytes: number; logFiles: number },
): Promise<ServiceLog> {
  if (config.mode === 'systemd') return journalLog();
  await mkdir(paths.logs, { recursive: true });
  return new RotatingFileLog(paths.serviceLog, { maxBytes: config.logMaxBytes, files: config.logFiles });
}
