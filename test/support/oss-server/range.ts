import { errors } from './errors';

export type RangeResult = { whole: true } | { whole: false; start: number; end: number };

const WHOLE: RangeResult = { whole: true };

/**
 * OSS Range semantics, which differ from plain HTTP:
 * - by default a range that is malformed or reaches past the object (start or end >= size) is
 *   ignored: the whole object comes back with 200, not 206 and not 416;
 * - with `x-oss-range-behavior: standard` an end past the object is clipped (206) and a start past
 *   it is 416 InvalidRange;
 * - several ranges: only the first is served.
 * Code that resumes downloads with Range must cope with the 200 case; this server makes it show.
 */
export function resolveRange(header: string | undefined, size: number, standard: boolean): RangeResult {
  if (header === undefined) return WHOLE;
  const m = /^bytes=(\d*)-(\d*)(?:,.*)?$/.exec(header.trim());
  if (!m) return WHOLE;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return WHOLE;

  if (a === '') {
    // Suffix range: the last N bytes.
    const n = Number(b);
    if (n === 0) {
      if (standard) throw errors.invalidRange(header, size);
      return WHOLE;
    }
    if (n > size) return standard ? clip(0, size - 1, header, size) : WHOLE;
    return { whole: false, start: size - n, end: size - 1 };
  }

  const start = Number(a);
  const end = b === '' ? size - 1 : Number(b);
  if (b !== '' && end < start) return WHOLE;
  if (start >= size) {
    if (standard) throw errors.invalidRange(header, size);
    return WHOLE;
  }
  if (end >= size) return standard ? clip(start, size - 1, header, size) : WHOLE;
  return { whole: false, start, end };
}

function clip(start: number, end: number, header: string, size: number): RangeResult {
  if (size === 0) throw errors.invalidRange(header, size);
  return { whole: false, start, end };
}
