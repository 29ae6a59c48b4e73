// The little the parts need of the storage API as a client: tokens, and seeding files through a
// service's own upload route.
import { randomBytes } from 'node:crypto';
import { mintToken } from '../../app/auth/tokens';
import { AUTH_SECRET } from './servers';

export function token(user: string): Promise<string> {
  return mintToken({ secret: AUTH_SECRET, subject: user, scopes: ['read', 'write'], ttlSeconds: 3 * 3600 });
}

/** Uploads `count` files of `size` random bytes, a few at a time; returns their ids. */
export async function seedFiles(
  base: string,
  bearer: string,
  count: number,
  size: number,
  concurrency = 8,
): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const form = new FormData();
      form.append(
        'file',
        new Blob([randomBytes(size)], { type: 'application/octet-stream' }),
        `seed-${n}.bin`,
      );
      const res = await fetch(`${base}/v1/files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}` },
        body: form,
      });
      const body = (await res.json()) as { id?: string };
      if (res.status !== 201 || !body.id)
        throw new Error(`seeding ${base}: HTTP ${res.status} ${JSON.stringify(body)}`);
      ids.push(body.id);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ids;
}
