// Merging the lines of many hosts: backlogs held until every host sent its own, then one time order;
// a host's own order never changed; a line without a time stays after the line before it; and the
// human line format.
import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../../pipeline/agent/service/log-record';
import { formatLogLine } from '../../../pipeline/cli/commands/logs';
import { createStyle } from '../../../pipeline/cli/io';
import { type HostLogRecord, LogMerger } from '../../../pipeline/deploy/log-merge';

const rec = (time: string | null, line: string): LogRecord => ({
  time,
  release: '1.0.0',
  pid: 1,
  stream: 'out',
  line,
});
const t = (s: number) => new Date(Date.UTC(2026, 11, 6, 10, 0, s)).toISOString();

describe('LogMerger', () => {
  it('holds the backlogs until every host sent its own, then prints them in one time order', () => {
    const out: HostLogRecord[] = [];
    const m = new LogMerger(['a', 'b'], (r) => out.push(r));
    m.add('a', rec(t(1), 'a1'));
    m.add('a', rec(t(4), 'a4'));
    m.caughtUp('a');
    expect(out).toEqual([]);
    m.add('b', rec(t(2), 'b2'));
    m.add('b', rec(t(3), 'b3'));
    m.caughtUp('b');
    expect(out.map((r) => `${r.host}:${r.line}`)).toEqual(['a:a1', 'b:b2', 'b:b3', 'a:a4']);
  });

  it("never reorders one host's lines, even when their times go backwards", () => {
    const out: HostLogRecord[] = [];
    const m = new LogMerger(['a', 'b'], (r) => out.push(r));
    m.add('a', rec(t(5), 'a5'));
    m.add('a', rec(t(1), 'a1-late'));
    m.add('b', rec(t(3), 'b3'));
    m.end();
    expect(out.map((r) => r.line)).toEqual(['b3', 'a5', 'a1-late']);
  });

  it('keeps a line without a time after the line before it, and ties in arrival order', () => {
    const out: HostLogRecord[] = [];
    const m = new LogMerger(['a', 'b'], (r) => out.push(r));
    m.add('a', rec(t(2), 'a2'));
    m.add('a', rec(null, 'a-untimed'));
    m.add('b', rec(t(2), 'b2'));
    m.add('b', rec(t(3), 'b3'));
    m.end();
    expect(out.map((r) => r.line)).toEqual(['a2', 'a-untimed', 'b2', 'b3']);
  });

  it('after the backlog, flush() prints what came since, merged; a failed host does not hold the others', () => {
    const out: HostLogRecord[] = [];
    const m = new LogMerger(['a', 'b', 'c'], (r) => out.push(r));
    m.caughtUp('a');
    m.caughtUp('b');
    m.add('a', rec(t(9), 'early'));
    m.flush();
    expect(out).toEqual([]);
    m.caughtUp('c'); // c failed to connect: the merge goes on without it
    expect(out.map((r) => r.line)).toEqual(['early']);
    m.add('b', rec(t(11), 'b11'));
    m.add('a', rec(t(10), 'a10'));
    expect(out).toHaveLength(1);
    m.flush();
    expect(out.map((r) => r.line)).toEqual(['early', 'a10', 'b11']);
    m.flush();
    expect(out).toHaveLength(3);
  });
});

describe('formatLogLine', () => {
  it('prints host, time, release and text; no colour without a terminal', () => {
    const plain = createStyle(false);
    expect(
      formatLogLine(
        { host: 'web-1', ...rec('2026-12-06T10:00:00.123Z', 'GET /files 200') },
        6,
        plain,
        'cyan',
      ),
    ).toBe('web-1   2026-12-06T10:00:00.123Z  1.0.0  GET /files 200');
    expect(
      formatLogLine(
        { host: 'b', time: null, release: null, pid: null, stream: 'other', line: 'x' },
        2,
        plain,
        'cyan',
      ),
    ).toBe('b   -                         -  x');
    expect(
      formatLogLine({ host: 'b', ...rec(t(1), 'boom'), stream: 'err' }, 1, createStyle(true), 'cyan'),
    ).toBe(`\x1b[36mb\x1b[39m  \x1b[2m${t(1)}\x1b[22m  1.0.0  \x1b[31mboom\x1b[39m`);
  });
});
