import { describe, expect, it } from 'vitest';
import { deleteLine, LOG_HEADER, parseLog, putLine } from '../../../app/catalog/disk-log';
import { type IndexEntry, UserIndex } from '../../../app/catalog/user-index';
import type { Category } from '../../../app/storage/category';
import { newFileId } from '../../../app/storage/keys';
import type { FileRecord } from '../../../app/storage/types';

const T0 = Date.UTC(2026, 0, 1);
const entry = (i: number, category: Category = 'other', size = 10): IndexEntry => ({
  id: newFileId(category, T0 + i),
  size,
  category,
  record: null,
});

describe('UserIndex', () => {
  it('pages newest first with a cursor, per category too', () => {
    const es = [entry(0), entry(1, 'images'), entry(2), entry(3, 'images'), entry(4)];
    const index = UserIndex.of(0, [es[3]!, es[0]!, es[4]!, es[1]!, es[2]!]);
    const first = index.page({ limit: 2 });
    expect(first.entries.map((e) => e.id)).toEqual([es[4]!.id, es[3]!.id]);
    expect(first.nextCursor).toBe(es[3]!.id);
    const second = index.page({ limit: 2, cursor: first.nextCursor! });
    expect(second.entries.map((e) => e.id)).toEqual([es[2]!.id, es[1]!.id]);
    const last = index.page({ limit: 2, cursor: second.nextCursor! });
    expect(last).toEqual({ entries: [es[0]], nextCursor: null });
    expect(index.page({ limit: 5, category: 'images' }).entries.map((e) => e.id)).toEqual([
      es[3]!.id,
      es[1]!.id,
    ]);
  });

  it('keeps usage as entries come and go, idempotently, with the minimum charge', () => {
    const index = new UserIndex(4096);
    const a = entry(1, 'images', 100);
    const b = entry(2, 'other', 10_000);
    index.add(a);
    index.add(a);
    index.add(b);
    expect(index.usage()).toMatchObject({ bytes: 10_100, chargedBytes: 14_096, files: 2 });
    expect(index.usage().categories.images).toEqual({ bytes: 100, files: 1 });
    index.remove(a.id);
    index.remove(a.id);
    expect(index.usage()).toMatchObject({ bytes: 10_000, chargedBytes: 10_000, files: 1 });
    expect(index.page({ limit: 10 }).entries).toEqual([b]);
  });

  it('inserts an older id that arrives late in its place', () => {
    const index = new UserIndex(0);
    const [old, recent, late] = [entry(5), entry(9), entry(7)];
    index.add(old);
    index.add(recent);
    index.add(late);
    expect(index.page({ limit: 3 }).entries).toEqual([recent, late, old]);
  });
});

describe('the disk index log format', () => {
  const record: FileRecord = {
    id: newFileId('documents', T0),
    userId: 'alice',
    name: 'a "quoted"\nname.txt',
    size: 3,
    contentType: 'text/plain',
    category: 'documents',
    sha256: '0'.repeat(64),
    createdAt: new Date(T0).toISOString(),
  };

  it('reads back what it writes, and leaves a line still being written for later', () => {
    const text = `${LOG_HEADER}\n${putLine(record)}${deleteLine(record.id)}\n+{"id":"half`;
    const { ops, consumed, header } = parseLog(text);
    expect(header).toBe(true);
    expect(ops).toEqual([
      { op: '+', record },
      { op: '-', id: record.id },
    ]);
    expect(consumed).toBe(Buffer.byteLength(text) - '+{"id":"half'.length);
  });

  it('skips a line cut short by a crash without losing the next one', () => {
    const text = `\n+{"id":"trunc${putLine(record)}\n-not-an-id\n`;
    expect(parseLog(text).ops).toEqual([{ op: '+', record }]);
  });
});
