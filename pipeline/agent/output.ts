// The agent speaks JSON lines on stdout (one object per line, the last one is always the result) and
// plain text on stderr for people. The CLI parses stdout; nothing else may write there.
import type { Writable } from 'node:stream';

export interface AgentIO {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export class Reporter {
  constructor(
    private readonly io: AgentIO,
    private readonly op: string,
  ) {}

  event(event: string, fields: Record<string, unknown>) {
    this.io.stdout.write(
      `${JSON.stringify({ event, op: this.op, ...fields, at: new Date().toISOString() })}\n`,
    );
  }

  step(step: string, fields: Record<string, unknown> = {}) {
    this.event('step', { step, ...fields });
    this.say(`${this.op}: ${step}${fields.version ? ` ${fields.version}` : ''}`);
  }

  /**
   * A line exactly as given (`agent logs` prints one per log line, so it carries no op or at). False when
   * stdout's buffer is full: a command printing many lines waits for drained() before going on, or the
   * lines still queued would be lost when the agent exits.
   */
  line(value: Record<string, unknown>): boolean {
    return this.io.stdout.write(`${JSON.stringify(value)}\n`);
  }

  drained(): Promise<void> {
    const out = this.io.stdout;
    if (!out.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        out.off('drain', done);
        out.off('error', done);
        out.off('close', done);
        resolve();
      };
      out.on('drain', done).on('error', done).on('close', done);
    });
  }

  result(ok: boolean, fields: Record<string, unknown>) {
    this.io.stdout.write(`${JSON.stringify({ event: 'result', ok, op: this.op, ...fields })}\n`);
  }

  say(text: string) {
    this.io.stderr.write(`${text}\n`);
  }
}

/** Presigned URLs carry a signature in the query: logs and history keep only scheme, host and path. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(unparseable url)';
  }
}
