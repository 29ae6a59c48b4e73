// The last lines a generation's workers printed, kept so that a release that fails to start or fails its
// gate can be explained from the operator's machine: the per-host result carries them, instead of "see
// the service log" on a host the operator is not logged in to.

export const TAIL_LINES = 40;
/** Long lines (a stack on one line, a JSON log) are cut: the tail is a diagnosis, not the log. */
const MAX_LINE = 500;

export class OutputTail {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly max = TAIL_LINES) {}

  push(chunk: Buffer | string, label = ''): void {
    const text = this.partial + chunk.toString();
    const parts = text.split('\n');
    this.partial = (parts.pop() ?? '').slice(-MAX_LINE);
    for (const line of parts) this.add(label + line);
  }

  private add(line: string): void {
    const clean = line.replace(/\r$/, '');
    this.lines.push(clean.length > MAX_LINE ? `${clean.slice(0, MAX_LINE)}…` : clean);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }

  /** The last lines, the unterminated one included. */
  snapshot(): string[] {
    const out = this.partial ? [...this.lines, this.partial] : [...this.lines];
    return out.slice(-this.max);
  }
}
