import { describe, expect, it } from 'vitest';
import { LoadedUsers } from '../../../app/catalog/loaded-users';
import { UserIndex } from '../../../app/catalog/user-index';
import { newFileId } from '../../../app/storage/keys';

const indexOf = (files: number) =>
  UserIndex.of(
    0,
    Array.from({ length: files }, (_, i) => ({
      id: newFileId('other', 1_700_000_000_000 + i),
      size: 1,
      category: 'other' as const,
      record: null,
    })),
  );

describe('LoadedUsers', () => {
  it('loads a user once for concurrent callers', async () => {
    let loads = 0;
    const users = new LoadedUsers(async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return { index: indexOf(1), lastUsed: 0 };
    }, 100);
    const [a, b] = await Promise.all([users.get('u'), users.get('u')]);
    expect(a).toBe(b);
    expect(loads).toBe(1);
    expect(await users.get('u')).toBe(a);
    expect(loads).toBe(1);
  });

  it('drops the least recently used users past its file budget, never the one just loaded', async () => {
    const users = new LoadedUsers(async (id) => ({ index: indexOf(id === 'big' ? 8 : 4), lastUsed: 0 }), 12);
    await users.get('a');
    await users.get('b');
    await users.get('a'); // a is now more recent than b
    await users.get('big');
    // 4 + 4 + 8 files against a budget of 12: b, the least recently used, goes; a stays.
    expect(users.peek('b')).toBeUndefined();
    expect(users.peek('a')?.index.size).toBe(4);
    expect(users.peek('big')?.index.size).toBe(8);
  });
});
