import { describe, expect, it } from 'vitest';
import { categoryOf, resolveContentType } from '../../../app/storage/category';
import {
  idOrder,
  isFileId,
  newFileId,
  objectKey,
  parseFileId,
  parseObjectKey,
} from '../../../app/storage/keys';

describe('file ids and object keys', () => {
  it('encodes category and month in the id, so the key needs no lookup', () => {
    const t = Date.UTC(2025, 1, 14, 12); // 2025-02
    const id = newFileId('videos', t);
    expect(isFileId(id)).toBe(true);
    expect(parseFileId(id)).toEqual({ category: 'videos', createdAt: new Date(t) });
    expect(objectKey('alice', id)).toBe(`files/alice/videos/2025/02/${id}`);
    expect(parseObjectKey(`files/alice/videos/2025/02/${id}`)).toEqual({
      userId: 'alice',
      id,
      category: 'videos',
    });
  });

  it('orders ids by time regardless of category', () => {
    const a = newFileId('other', 1_000);
    const b = newFileId('images', 2_000);
    expect(idOrder(a) < idOrder(b)).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => newFileId('other', 5))).size).toBe(1000);
  });

  it('refuses anything that could leave the user prefix', () => {
    for (const bad of [
      '../x',
      'i0/../../etc',
      '',
      'I01ARZ3NDEKTSV4RRFFQ69G5FAV',
      `i${'0'.repeat(26)}/`,
      'x01arz3ndektsv4rrffq69g5fav',
    ]) {
      expect(isFileId(bad), bad).toBe(false);
      expect(() => objectKey('alice', bad)).toThrow();
    }
    expect(() => objectKey('../bob', newFileId('other'))).toThrow();
    expect(() => objectKey('a.b', newFileId('other'))).toThrow();
  });

  it('parses only keys it could have built', () => {
    const id = newFileId('audio', Date.UTC(2024, 11, 1));
    expect(parseObjectKey(`files/alice/audio/2024/11/${id}`)).toBeNull(); // wrong month
    expect(parseObjectKey(`files/alice/images/2024/12/${id}`)).toBeNull(); // wrong category
    expect(parseObjectKey(`tmp/${id}.uuid`)).toBeNull();
    expect(parseObjectKey(`files/alice/audio/2024/12/${id}/extra`)).toBeNull();
  });
});

describe('categories', () => {
  it.each([
    ['image/jpeg', 'x', 'images'],
    ['video/quicktime', 'x', 'videos'],
    ['audio/ogg', 'x', 'audio'],
    ['application/pdf', 'x', 'documents'],
    ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'x', 'documents'],
    ['text/csv', 'x', 'documents'],
    ['application/zip', 'x', 'archives'],
    ['application/octet-stream', 'photo.JPG', 'images'],
    ['', 'a.7z', 'archives'],
    ['application/octet-stream', 'noext', 'other'],
  ])('%s + %s → %s', (declared, name, category) => {
    expect(categoryOf(resolveContentType(declared, name))).toBe(category);
  });

  it('drops parameters and malformed declared types', () => {
    expect(resolveContentType('Text/Plain; charset=utf-8', 'a')).toBe('text/plain');
    expect(resolveContentType('not a type', 'a.png')).toBe('image/png');
    expect(resolveContentType('text/html\r\nX-Injected: 1', 'a.bin')).toBe('application/octet-stream');
  });
});
