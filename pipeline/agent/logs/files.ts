// Process mode: the service log is .ferry/logs/service.log and its rotated files (service.log.1 is the
// newest of those). The backlog is read newest file first, so `--lines 100` reads one file, not six; a
// follow keeps its file open and notices a rotation by the inode behind the name changing, so the lines
// written to the old file just before the rename are still read, and none twice.
import { type FileHandle, open, readFile, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { isErrno } from '../host/fsutil';
import { type LogRecord, parseFileLine } from '../service/log-record';
import { LastN, type LogQuery, matches } from './select';

/** The current file, opened before the backlog is read: the follow starts exactly where the backlog ended. */
export interface OpenLog {
  handle: FileHandle | null;
  size: number;
  ino: number;
}

export async function openCurrent(path: string): Promise<OpenLog> {
  try {
    const handle = await open(path, 'r');
    const st = await handle.stat();
    return { handle, size: st.size, ino: st.ino };
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { handle: null, size: 0, ino: 0 };
    throw err;
  }
}

async function readText(path: string, current: OpenLog | null): Promise<string | null> {
  if (current) {
    if (!current.handle) return null;
    const buf = Buffer.alloc(current.size);
    let off = 0;
    while (off < current.size) {
      const { bytesRead } = await current.handle.read(buf, off, current.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return buf.subarray(0, off).toString('utf8');
  }
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}

function records(text: string): LogRecord[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map(parseFileLine);
}

/** The matching backlog, oldest first: from service.log.N … service.log.1, service.log (up to `current.size`). */
export async function readBacklog(path: string, q: LogQuery, current: OpenLog): Promise<LogRecord[]> {
  const picked: LogRecord[][] = [];
  let count = 0;
  for (let i = 0; i <= 1000; i++) {
    const text = await readText(i === 0 ? path : `${path}.${i}`, i === 0 ? current : null);
    if (text === null) {
      if (i === 0) continue;
      break;
    }
    const all = records(text);
    const keep = new LastN<LogRecord>(q.lines === null ? null : q.lines - count);
    for (const r of all) if (matches(q, r)) keep.push(r);
    picked.unshift(keep.values());
    count += keep.size;
    if (q.lines !== null && count >= q.lines) break;
    // Older files hold only older lines: once this one starts before --since, they cannot match.
    const first = all.find((r) => r.time !== null)?.time;
    if (q.since !== null && first && Date.parse(first) < q.since.getTime()) break;
  }
  return picked.flat();
}

/** Reads what is appended to service.log from where the backlog ended, across rotations. */
export class FileFollower {
  private partial = '';
  private pos: number;
  // A read can end inside a multi-byte character; the decoder holds its first bytes for the next one.
  private decoder = new StringDecoder('utf8');

  constructor(
    private readonly path: string,
    private current: OpenLog,
  ) {
    this.pos = current.size;
  }

  /** The complete lines written since the last call. */
  async poll(): Promise<LogRecord[]> {
    const out: string[] = [];
    await this.drain(out);
    let st: { ino: number; size: number } | null = null;
    try {
      st = await stat(this.path);
    } catch (err) {
      // Mid-rotation the name is briefly missing; the next poll finds the new file.
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    if (st && st.ino !== this.current.ino) {
      // Rotated (or created): the old file is finished, drained above. Files rotated after it (several
      // rotations between two polls, under a burst) are read whole, then the new one from its start.
      await this.current.handle?.close();
      for (const name of await this.rotatedSince(this.current.ino)) {
        const text = await readFile(name, 'utf8').catch(() => '');
        const lines = text.split('\n');
        if (lines.at(-1) === '') lines.pop();
        out.push(...lines);
      }
      this.current = await openCurrent(this.path);
      this.pos = 0;
      this.partial = '';
      this.decoder = new StringDecoder('utf8');
      await this.drain(out);
    } else if (st && st.size < this.pos) {
      this.pos = 0;
      this.partial = '';
      this.decoder = new StringDecoder('utf8');
    }
    return out.map(parseFileLine);
  }

  /** service.log.K … service.log.1, oldest first: those rotated after the file with inode `ino`. */
  private async rotatedSince(ino: number): Promise<string[]> {
    const newer: string[] = [];
    for (let i = 1; i <= 1000; i++) {
      const name = `${this.path}.${i}`;
      const st = await stat(name).catch(() => null);
      // Ours was found (older ones are older still), or it is gone and so is everything past here.
      if (st === null || st.ino === ino) break;
      newer.push(name);
    }
    return newer.reverse();
  }

  async close(): Promise<void> {
    await this.current.handle?.close();
    this.current = { handle: null, size: 0, ino: 0 };
  }

  private async drain(out: string[]): Promise<void> {
    const h = this.current.handle;
    if (!h) return;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, buf.length, this.pos);
      if (bytesRead === 0) return;
      this.pos += bytesRead;
      const parts = (this.partial + this.decoder.write(buf.subarray(0, bytesRead))).split('\n');
      this.partial = parts.pop() ?? '';
      out.push(...parts);
    }
  }
}
