import { describe, expect, it } from 'vitest';
import { contentDisposition } from '../../../app/http/content-disposition';
import { parseRange } from '../../../app/http/range';

describe('parseRange', () => {
  it.each([
    [undefined, 10, { kind: 'full' }],
    ['bytes=0-0', 10, { kind: 'partial', range: { start: 0, end: 0 } }],
    ['bytes=2-5', 10, { kind: 'partial', range: { start: 2, end: 5 } }],
    ['bytes=5-', 10, { kind: 'partial', range: { start: 5, end: 9 } }],
    ['bytes=-4', 10, { kind: 'partial', range: { start: 6, end: 9 } }],
    ['bytes=-40', 10, { kind: 'partial', range: { start: 0, end: 9 } }],
    ['bytes=8-99', 10, { kind: 'partial', range: { start: 8, end: 9 } }],
    ['bytes=10-', 10, { kind: 'unsatisfiable' }],
    ['bytes=-0', 10, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=5-2', 10, { kind: 'full' }],
    ['bytes=0-1,4-5', 10, { kind: 'full' }],
    ['items=0-1', 10, { kind: 'full' }],
    ['bytes=abc', 10, { kind: 'full' }],
  ] as const)('%s of %i bytes', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe('contentDisposition', () => {
  it('gives an ASCII fallback and the exact UTF-8 name (RFC 6266 / 8187)', () => {
    expect(contentDisposition('plain.txt')).toBe(
      `attachment; filename="plain.txt"; filename*=UTF-8''plain.txt`,
    );
    expect(contentDisposition('résumé "v2" 100%.pdf')).toBe(
      `attachment; filename="r_sum_ _v2_ 100_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22%20100%25.pdf`,
    );
    expect(contentDisposition("it's (1).txt")).toBe(
      `attachment; filename="it's (1).txt"; filename*=UTF-8''it%27s%20%281%29.txt`,
    );
    expect(contentDisposition('a\\b;c.txt')).toMatch(
      /^attachment; filename="a_b;c\.txt"; filename\*=UTF-8''a%5Cb%3Bc\.txt$/,
    );
  });
});

describe('contentDisposition of a name stored before names were checked', () => {
  it('turns a lone surrogate into U+FFFD instead of throwing', () => {
    expect(contentDisposition('a\uD800.txt')).toBe(
      `attachment; filename="a_.txt"; filename*=UTF-8''a%EF%BF%BD.txt`,
    );
  });
});
