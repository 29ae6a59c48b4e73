// The host's memory between runs: state.json (what is good, bad and previous) and history.jsonl (one line
// per action, never rewritten). Both live in .ferry/ and only the lock holder writes them.
import { appendFile, readFile } from 'node:fs/promises';
import { isErrno, readJson, writeJsonAtomic } from './fsutil';
import type { HostPaths } from './paths';

export interface HostState {
  /** Releases that failed their health gate or were rolled away from: never picked by a plain rollback. */
  bad: string[];
  lastGood: string | null;
  previous: string | null;
}

export async function readState(paths: HostPaths): Promise<HostState> {
  const s = (await readJson<Partial<HostState>>(paths.state)) ?? {};
  return {
    bad: Array.isArray(s.bad) ? s.bad.filter((v) => typeof v === 'string') : [],
    lastGood: typeof s.lastGood === 'string' ? s.lastGood : null,
    previous: typeof s.previous === 'string' ? s.previous : null,
  };
}

export async function writeState(paths: HostPaths, state: HostState): Promise<void> {
  await writeJsonAtomic(paths.state, {
    bad: [...new Set(state.bad)],
    lastGood: state.lastGood,
    previous: state.previous,
  });
}

export async function updateState(paths: HostPaths, fn: (s: HostState) => void): Promise<HostState> {
  const s = await readState(paths);
  fn(s);
  await writeState(paths, s);
  return s;
}

export function markBad(s: HostState, version: string) {
  if (!s.bad.includes(version)) s.bad.push(version);
}

export interface HistoryEntry {
  time: string;
  who: string;
  op: string;
  version: string | null;
  from: string | null;
  result: 'ok' | 'failed' | 'rolled-back' | 'note';
  error?: { step?: string; code: string; message: string } | null;
  durationMs?: number;
  note?: string;
}

/** One write(2) with O_APPEND per line, so concurrent readers never see half a line. */
export async function appendHistory(
  paths: HostPaths,
  entry: Omit<HistoryEntry, 'time'>,
): Promise<HistoryEntry> {
  const full: HistoryEntry = { time: new Date().toISOString(), ...entry };
  await appendFile(paths.history, `${JSON.stringify(full)}\n`, { flag: 'a' });
  return full;
}

export async function readHistory(paths: HostPaths, limit?: number): Promise<HistoryEntry[]> {
  let text: string;
  try {
    text = await readFile(paths.history, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const entries: HistoryEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      entries.push(JSON.parse(line) as HistoryEntry);
    } catch {
      // A torn last line after a power cut: skip it, keep the rest.
    }
  }
  return limit !== undefined ? entries.slice(-limit) : entries;
}
