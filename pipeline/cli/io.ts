// What a command may touch of the outside world. `main()` gets one of these, so tests run the CLI in-process
// with string buffers, and bin/ferry.js wires it to the real process.

export interface WritableLike {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  stdout: WritableLike;
  stderr: WritableLike;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Whether a person is watching (colour, progress bars, and questions from `ferry init`). */
  isTTY: boolean;
  /** Where answers to questions come from; absent: nothing asks. */
  stdin?: NodeJS.ReadableStream;
}

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

/** Colour follows the terminal; NO_COLOR (any value) turns it off, FORCE_COLOR on (https://no-color.org). */
export function colorEnabled(io: Io): boolean {
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return false;
  if (io.env.FORCE_COLOR !== undefined && io.env.FORCE_COLOR !== '0') return true;
  return io.isTTY && io.env.TERM !== 'dumb';
}

export function createStyle(enabled: boolean): Style {
  const wrap = (open: number, close: number) => (s: string) =>
    enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s;
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  };
}

/**
 * Where a command writes. In --json mode stdout carries exactly one JSON document and human lines move to
 * stderr, so `ferry releases --json | jq` always parses.
 */
export class Output {
  constructor(
    private readonly io: Io,
    readonly json: boolean,
    readonly style: Style,
  ) {}

  /** A human line: stdout normally, stderr in --json mode. */
  print(line = ''): void {
    (this.json ? this.io.stderr : this.io.stdout).write(`${line}\n`);
  }

  warn(line: string): void {
    this.io.stderr.write(`${this.style.yellow('warning:')} ${line}\n`);
  }

  /** The machine result; only written in --json mode. */
  result(value: unknown): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Aligned columns for human output; the last column is left ragged. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
