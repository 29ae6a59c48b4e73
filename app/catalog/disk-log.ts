// The per-user index log of the disk backend: `{root}/index/{userId}.log`, one line per put or delete,
// appended with O_APPEND by whichever process made the change, so every worker on the host can follow
// it by reading what was added since it last looked. Pure line format here; file access below it.
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import { isFileId } from '../storage/keys';
import type { FileRecord } from '../storage/types';

/** First line of a log that was built from a walk of the user's folder: only such a log is complete. */
export const LOG_HEADER = '#ferry-index 1';

export type LogOp = { op: '+'; record: FileRecord } | { op: '-'; id: string };

// Each line is written with a newline on both sides: a line cut short by a crash then stands alone and
// is skipped, instead of swallowing the next one.
export function putLine(record: FileRecord): string {
  return `\n+${JSON.stringify(record)}\n`;
}

export function deleteLine(id: string): string {
  return `\n-${id}\n`;
}

/**
 * The operations in `text` up to its last newline, and how many bytes that was. What follows the last
 * newline may be a line still being written: it is left for the next read.
 */
export function parseLog(text: string): { ops: LogOp[]; consumed: number; header: boolean } {
  const end = text.lastIndexOf('\n') + 1;
  const ops: LogOp[] = [];
  let header = false;
  for (const line of text.slice(0, end).split('\n')) {
    if (line === LOG_HEADER) header = true;
    else if (line.startsWith('+')) {
      const record = parseRecord(line.slice(1));
      if (record) ops.push({ op: '+', record });
    } else if (line.startsWith('-') && isFileId(line.slice(1))) ops.push({ op: '-', id: line.slice(1) });
  }
  return { ops, consumed: Buffer.byteLength(text.slice(0, end)), header };
}

function parseRecord(json: string): FileRecord | null {
  try {
    const r = JSON.parse(json) as FileRecord;
    return typeof r.id === 'string' && isFileId(r.id) && Number.isSafeInteger(r.size) ? r : null;
  } catch {
    return null;
  }
}

/** Appends to an existing log; false when there is none (the next load builds it from a walk). */
export async function appendToLog(file: string, line: string): Promise<boolean> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_WRONLY | constants.O_APPEND);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    await handle.write(line);
  } finally {
    await handle.close();
  }
  return true;
}

/** Bytes [from, to) of a file as text. */
export async function readLogRange(file: string, from: number, to: number): Promise<string> {
  const handle = await fs.open(file, constants.O_RDONLY);
  try {
    const buf = Buffer.alloc(to - from);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, from + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    await handle.close();
  }
}
