// The service log's line format: what the supervisor writes is what `agent logs` reads back, in a file
// (with the time) and in journald's MESSAGE (without), and older lines keep their text.
import { describe, expect, it } from 'vitest';
import {
  formatRecord,
  parseFileLine,
  parseJournalMessage,
} from '../../../../pipeline/agent/service/log-record';

describe('service log lines', () => {
  it('writes the time, release, pid and stream before the text', () => {
    expect(
      formatRecord({
        time: '2026-12-06T10:00:00.123Z',
        release: '1.4.0',
        pid: 4242,
        stream: 'out',
        line: 'GET /',
      }),
    ).toBe('2026-12-06T10:00:00.123Z 1.4.0 4242 out GET /');
    expect(formatRecord({ release: null, pid: 7, stream: 'sup', line: 'supervisor: ready' })).toBe(
      '- 7 sup supervisor: ready',
    );
    expect(formatRecord({ release: '2.0.0-rc.1', pid: 9, stream: 'err', line: '' })).toBe(
      '2.0.0-rc.1 9 err ',
    );
  });

  it('reads back exactly what it wrote, whatever the text holds', () => {
    for (const line of [
      'plain',
      '',
      '  leading spaces',
      '1.0.0 12 out looks like a prefix',
      'tab\there',
      'ünïcødé',
    ]) {
      const r = { time: '2026-12-06T10:00:00.123Z', release: '1.0.0', pid: 12, stream: 'err' as const, line };
      expect(parseFileLine(formatRecord(r))).toEqual(r);
      expect(parseJournalMessage(formatRecord({ ...r, time: null }), '2026-12-06T10:00:01.000Z', 99)).toEqual(
        {
          ...r,
          time: '2026-12-06T10:00:01.000Z',
        },
      );
    }
    expect(parseFileLine('2026-12-06T10:00:00.123Z - 7 sup supervisor: ready')).toEqual({
      time: '2026-12-06T10:00:00.123Z',
      release: null,
      pid: 7,
      stream: 'sup',
      line: 'supervisor: ready',
    });
  });

  it('keeps lines from before the format: a supervisor line keeps its time, raw output its text', () => {
    expect(parseFileLine('2026-12-05T09:00:00.000Z supervisor: generation 1 (1.0.0) serving')).toEqual({
      time: '2026-12-05T09:00:00.000Z',
      release: null,
      pid: null,
      stream: 'other',
      line: 'supervisor: generation 1 (1.0.0) serving',
    });
    expect(parseFileLine('Server listening at http://127.0.0.1:3000')).toEqual({
      time: null,
      release: null,
      pid: null,
      stream: 'other',
      line: 'Server listening at http://127.0.0.1:3000',
    });
  });

  it("takes systemd's own lines in the unit's journal as they are", () => {
    expect(parseJournalMessage('Started ferry-e2e.service - e2e.', '2026-12-06T10:00:00.000Z', 1)).toEqual({
      time: '2026-12-06T10:00:00.000Z',
      release: null,
      pid: 1,
      stream: 'other',
      line: 'Started ferry-e2e.service - e2e.',
    });
  });
});
