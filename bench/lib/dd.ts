// The physical limit for durable 1 MiB writes on this machine: `dd conv=fsync` of the same number of bytes
// into a new file, one after another in each of N streams (N = the upload benchmark's connections), for a
// fixed time. Each dd is its own process, as a shell loop would run it.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const DD = '/usr/bin/dd';
// Each stream cycles through a few file names: dd truncates and rewrites them, so a long run does not fill
// the disk, and every write still allocates its blocks anew.
const NAMES_PER_STREAM = 4;

/** Pure: one durable write of `bytes` from src into a new dst (a single block, fsync before dd exits). */
export function ddArgs(src: string, dst: string, bytes: number): string[] {
  return [`if=${src}`, `of=${dst}`, `bs=${bytes}`, 'count=1', 'conv=fsync', 'status=none'];
}

export interface DdResult {
  streams: number;
  files: number;
  seconds: number;
  filesPerSecond: number;
  bytesPerSecond: number;
}

export async function ddLimit(
  src: string,
  dir: string,
  bytes: number,
  streams: number,
  seconds: number,
): Promise<DdResult> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let files = 0;
  await Promise.all(
    Array.from({ length: streams }, async (_, s) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await run(DD, ddArgs(src, join(dir, `dd-${s}-${i % NAMES_PER_STREAM}`), bytes));
        files++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    streams,
    files,
    seconds: elapsed,
    filesPerSecond: files / elapsed,
    bytesPerSecond: (files * bytes) / elapsed,
  };
}

/**
 * Pure: `count` blocks of `bytes` into one file by one process, each block synced as it is written
 * (O_DSYNC): the same durable 1 MiB writes with no process start or file creation in between.
 */
export function ddSyncedBlocksArgs(dst: string, bytes: number, count: number): string[] {
  return ['if=/dev/zero', `of=${dst}`, `bs=${bytes}`, `count=${count}`, 'oflag=dsync', 'status=none'];
}

export async function ddSyncedBlocks(dir: string, bytes: number, count: number): Promise<DdResult> {
  const started = performance.now();
  await run(DD, ddSyncedBlocksArgs(join(dir, 'dd-dsync'), bytes, count));
  const seconds = (performance.now() - started) / 1000;
  return {
    streams: 0,
    files: count,
    seconds,
    filesPerSecond: count / seconds,
    bytesPerSecond: (count * bytes) / seconds,
  };
}

/** Milliseconds to start and finish a dd that copies nothing: what each file of ddLimit pays on top. */
export async function ddStartMs(times: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < times; i++) await run(DD, ['if=/dev/zero', 'of=/dev/null', 'count=0', 'status=none']);
  return (performance.now() - started) / times;
}
