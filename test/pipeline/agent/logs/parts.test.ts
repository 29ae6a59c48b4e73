// The pure parts of `ferry logs` on the agent side: --since and durations, the journalctl command line,
// journald's JSON entries, and which records a query selects.
import { describe, expect, it } from 'vitest';
import {
  journalctlArgv,
  journalPermissionHint,
  journalRecord,
} from '../../../../pipeline/agent/logs/journal';
import { LastN, matches } from '../../../../pipeline/agent/logs/select';
import { parseDuration, parseSince } from '../../../../pipeline/agent/logs/since';

const NOW = Date.parse('2026-12-06T12:00:00.000Z');

describe('durations and --since', () => {
  it('reads durations in s, m, h, d (bare numbers are seconds)', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('3d')).toBe(259_200_000);
    for (const bad of ['', 'm', '10 m', '1.5h', '-5m', '10w', '1h30m'])
      expect(parseDuration(bad), bad).toBeNull();
  });

  it('takes a duration back from now, or a time (UTC unless it says otherwise)', () => {
    expect(parseSince('10m', NOW)?.toISOString()).toBe('2026-12-06T11:50:00.000Z');
    expect(parseSince('2026-12-06T10:00:00Z', NOW)?.toISOString()).toBe('2026-12-06T10:00:00.000Z');
    expect(parseSince('2026-12-06 10:00', NOW)?.toISOString()).toBe('2026-12-06T10:00:00.000Z');
    expect(parseSince('2026-12-06T10:00:00+08:00', NOW)?.toISOString()).toBe('2026-12-06T02:00:00.000Z');
    expect(parseSince('2026-12-06', NOW)?.toISOString()).toBe('2026-12-06T00:00:00.000Z');
    for (const bad of ['yesterday', '10 minutes', '2026-13-45T99:00', '12/06/2026', '2026-12-06T10:00+0800'])
      expect(parseSince(bad, NOW), bad).toBeNull();
  });
});

describe('journalctl', () => {
  it('builds the command line exactly', () => {
    expect(journalctlArgv({ unit: 'ferry-storage' })).toEqual([
      'journalctl',
      '--unit',
      'ferry-storage',
      '--output',
      'json',
      '--no-pager',
    ]);
    expect(journalctlArgv({ unit: 'u', since: new Date('2026-12-06T10:00:00.900Z'), lines: 100 })).toEqual([
      'journalctl',
      '--unit',
      'u',
      '--output',
      'json',
      '--no-pager',
      '--since',
      '@1796551200',
      '--lines',
      '100',
    ]);
    expect(journalctlArgv({ unit: 'u', afterCursor: 's=abc;i=1', lines: 'all', follow: true })).toEqual([
      'journalctl',
      '--unit',
      'u',
      '--output',
      'json',
      '--no-pager',
      '--lines',
      'all',
      '--after-cursor',
      's=abc;i=1',
      '--follow',
    ]);
  });

  it('turns an entry into a record: the prefix gives release, pid and stream; journald gives the time', () => {
    const entry = {
      __CURSOR: 's=1;i=2',
      __REALTIME_TIMESTAMP: '1796551200123456',
      _PID: '77',
      MESSAGE: '1.4.0 4242 err something failed',
    };
    expect(journalRecord(JSON.stringify(entry))).toEqual({
      cursor: 's=1;i=2',
      record: {
        time: '2026-12-06T10:00:00.123Z',
        release: '1.4.0',
        pid: 4242,
        stream: 'err',
        line: 'something failed',
      },
    });
    // Not valid UTF-8: journald sends the bytes as an array.
    const bytes = journalRecord(
      JSON.stringify({ ...entry, MESSAGE: [...Buffer.from('1.4.0 1 out caf\u00e9')] }),
    );
    expect(bytes?.record.line).toBe('café');
    expect(journalRecord(JSON.stringify({ ...entry, MESSAGE: 'Stopped ferry.service.' }))?.record).toEqual({
      time: '2026-12-06T10:00:00.123Z',
      release: null,
      pid: 77,
      stream: 'other',
      line: 'Stopped ferry.service.',
    });
    expect(journalRecord('-- No entries --')).toBeNull();
    expect(journalRecord('{not json')).toBeNull();
  });

  it("recognises journalctl's hint that the user cannot read the system journal", () => {
    expect(
      journalPermissionHint(
        "Hint: You are currently not seeing messages from other users and the system.\n      Users in groups 'adm', 'systemd-journal' can see all messages.",
      ),
    ).toBe(true);
    expect(journalPermissionHint('No journal files were opened due to insufficient permissions.')).toBe(true);
    expect(journalPermissionHint('')).toBe(false);
  });
});

describe('selection', () => {
  const rec = (time: string | null, release: string | null) =>
    ({ time, release, pid: 1, stream: 'out', line: 'x' }) as const;

  it('matches by release and since; a line without a time is kept', () => {
    const q = { since: new Date('2026-12-06T10:00:00Z'), lines: null, release: '1.0.0' };
    expect(matches(q, rec('2026-12-06T10:00:00.000Z', '1.0.0'))).toBe(true);
    expect(matches(q, rec('2026-12-06T09:59:59.999Z', '1.0.0'))).toBe(false);
    expect(matches(q, rec('2026-12-06T11:00:00.000Z', '2.0.0'))).toBe(false);
    expect(matches(q, rec(null, '1.0.0'))).toBe(true);
    expect(matches({ since: null, lines: 5, release: null }, rec(null, null))).toBe(true);
  });

  it('LastN keeps the newest N, in order, or everything', () => {
    const last = new LastN<number>(3);
    for (let i = 1; i <= 5000; i++) last.push(i);
    expect(last.values()).toEqual([4998, 4999, 5000]);
    expect(last.size).toBe(3);
    const none = new LastN<number>(0);
    none.push(1);
    expect(none.values()).toEqual([]);
    const all = new LastN<number>(null);
    all.push(1);
    all.push(2);
    expect(all.values()).toEqual([1, 2]);
  });
});
