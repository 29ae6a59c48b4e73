// One interface for reaching a host: over SSH for a real fleet, or directly on this machine when the
// "hosts" are folders (the embedded default and the demo). Commands are argv arrays built by pure
// functions in pipeline/commands; a transport only carries them.

export interface ExecOptions {
  /** Bytes for the command's stdin (e.g. a file's content, never a secret on argv). */
  stdin?: string | Buffer;
  /** Called with each complete stdout line as it arrives (the agent streams JSON progress events). */
  onStdoutLine?: (line: string) => void;
  /** Abort after this long; the result then has code 124, like timeout(1). */
  timeoutMs?: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How long a streamed command gets to exit after its stdin closed, before it is killed. */
export const STREAM_GRACE_MS = 5000;

export interface StreamOptions {
  onStdoutLine: (line: string) => void;
  /**
   * Ends the command: its stdin, held open until then, is closed, which is how a remote command learns
   * that the CLI went away (SSH does not signal it). After `graceMs` it is killed, or its channel closed.
   */
  signal: AbortSignal;
  graceMs?: number;
}

export interface Transport {
  /** The host's display name, for progress lines and errors. */
  readonly name: string;
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** A long-running command (`agent logs --follow`): stdout line by line, nothing kept; ends on `signal`. */
  stream(argv: readonly string[], opts: StreamOptions): Promise<{ code: number; stderr: string }>;
  /** Writes a file atomically (temp + rename on the host), creating parent folders. */
  writeFile(path: string, content: string | Buffer, mode?: number): Promise<void>;
  /** Copies a local file to the host atomically. */
  putFile(localPath: string, remotePath: string, mode?: number): Promise<void>;
  close(): Promise<void>;
}

/** Splits a stream of chunks into lines, holding the partial tail until the next chunk. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; end(): void } {
  let tail = '';
  return {
    push(chunk) {
      tail += chunk;
      let nl = tail.indexOf('\n');
      while (nl >= 0) {
        onLine(tail.slice(0, nl));
        tail = tail.slice(nl + 1);
        nl = tail.indexOf('\n');
      }
    },
    end() {
      if (tail.length > 0) onLine(tail);
      tail = '';
    },
  };
}
