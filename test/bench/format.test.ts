// The bench's pure helpers for what it prints: tables and numbers. The benchmarks themselves are not
// tests (npm run bench); these only pin the formatting they rely on.
import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatMB,
  formatMs,
  formatRate,
  formatSeconds,
  formatThroughput,
  median,
  percentile,
  ratio,
} from '../../bench/lib/format';
import { formatTable } from '../../bench/lib/table';

describe('formatTable', () => {
  it('pads every cell to its column and right-aligns numeric columns, as Markdown', () => {
    const text = formatTable({
      title: 'T',
      columns: [{ header: 'what' }, { header: 'req/s', right: true }],
      rows: [
        ['metadata', '12,345'],
        ['list → 100', '7'],
      ],
      notes: ['a note'],
    });
    expect(text).toBe(
      [
        '### T',
        '',
        '| what       |  req/s |',
        '|------------|-------:|',
        '| metadata   | 12,345 |',
        '| list → 100 |      7 |',
        '',
        '- a note',
        '',
      ].join('\n'),
    );
  });

  it('refuses a row with the wrong number of cells', () => {
    expect(() => formatTable({ title: 'T', columns: [{ header: 'a' }], rows: [['1', '2']] })).toThrow(
      /row 0 has 2 cells, expected 1/,
    );
  });
});

describe('statistics', () => {
  it('takes nearest-rank percentiles of unsorted samples', () => {
    const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(samples, 50)).toBe(5);
    expect(percentile(samples, 90)).toBe(9);
    expect(percentile(samples, 99)).toBe(10);
    expect(percentile(samples, 0)).toBe(1);
    expect(median([3, 1, 2])).toBe(2);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('gives ratios only when both sides are real numbers', () => {
    expect(ratio(300, 100)).toBe('3.0×');
    expect(ratio(1, 3, 2)).toBe('0.33×');
    expect(ratio(1, 0)).toBe('–');
    expect(ratio(null, 2)).toBe('–');
    expect(ratio(Number.NaN, 2)).toBe('–');
  });
});

describe('number formats', () => {
  it('formats sizes, times and rates the way the tables show them', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(2 ** 30)).toBe('1.0 GiB');
    expect(formatBytes(300 * 2 ** 20)).toBe('300 MiB');
    expect(formatMB(45_000_000)).toBe('45.0 MB');
    expect(formatMs(0.4234)).toBe('0.42 ms');
    expect(formatMs(12.34)).toBe('12.3 ms');
    expect(formatMs(1204.4)).toBe('1,204 ms');
    expect(formatMs(null)).toBe('–');
    expect(formatSeconds(2345)).toBe('2.35 s');
    expect(formatSeconds(12_345)).toBe('12.3 s');
    expect(formatRate(12345.6)).toBe('12,346');
    expect(formatThroughput(2 ** 30, 2000)).toBe('512 MiB/s');
    expect(formatThroughput(1, 0)).toBe('–');
  });
});
