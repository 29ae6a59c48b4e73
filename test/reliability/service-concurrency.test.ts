// 200 uploads at once from 5 users (40 each, random bodies) against a real listening server on the disk
// backend: every file reads back with the sha256 it was sent with, each user lists exactly their own 40,
// another user's ids are 404 for them, and the storage folder holds 200 files and no temporaries.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type RunningApp, startApp, startBackend, type Uploaded } from '../app/support';
import { recorded } from './support/record';

const SUITE = 'service-concurrency';
const USERS = ['ana', 'ben', 'chen', 'dmitri', 'eve'];
const PER_USER = 40;
let backend: Backend;
let svc: RunningApp;

const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  backend = await startBackend('disk');
  svc = await startApp(backend);
});

afterAll(async () => {
  await svc?.close();
  await backend?.close();
});

interface Sent {
  user: string;
  body: Buffer;
  file: Uploaded;
}

async function uploadOne(user: string, i: number): Promise<Sent> {
  const body = randomBytes(randomInt(1, 4096));
  const form = new FormData();
  form.append('file', new Blob([body], { type: 'application/octet-stream' }), `${user}-${i}.bin`);
  const res = await fetch(`${svc.base}/v1/files`, {
    method: 'POST',
    body: form,
    headers: await svc.auth(user),
  });
  if (res.status !== 201) throw new Error(`upload ${user}-${i}: ${res.status} ${await res.text()}`);
  return { user, body, file: (await res.json()) as Uploaded };
}

describe('concurrent uploads from several users', () => {
  it(
    '200 at once: each reads back intact and is listed under its owner only',
    recorded(
      {
        suite: SUITE,
        case: `${USERS.length} users × ${PER_USER} concurrent uploads`,
        proves:
          'no upload is lost, mixed up or half-written under concurrency; listings and reads are per user',
      },
      async (note) => {
        const sent = await Promise.all(
          USERS.flatMap((user) => Array.from({ length: PER_USER }, (_, i) => uploadOne(user, i))),
        );
        expect(new Set(sent.map((s) => s.file.id)).size).toBe(USERS.length * PER_USER);
        for (const s of sent) expect(s.file).toMatchObject({ size: s.body.length, sha256: sha(s.body) });

        // Read everything back at once too, checking the bytes themselves.
        await Promise.all(
          sent.map(async (s) => {
            const res = await fetch(`${svc.base}/v1/files/${s.file.id}/content`, {
              headers: await svc.auth(s.user),
            });
            expect(res.status).toBe(200);
            expect(sha(new Uint8Array(await res.arrayBuffer()))).toBe(sha(s.body));
          }),
        );

        for (const [u, user] of USERS.entries()) {
          const res = await fetch(`${svc.base}/v1/files?limit=100`, { headers: await svc.auth(user) });
          const { items } = (await res.json()) as { items: Uploaded[] };
          const mine = sent.filter((s) => s.user === user).map((s) => s.file.id);
          expect(items.map((f) => f.id).sort()).toEqual([...mine].sort());
          // Another user's file does not exist for this one.
          const other = sent.find((s) => s.user === USERS[(u + 1) % USERS.length]) as Sent;
          const peek = await fetch(`${svc.base}/v1/files/${other.file.id}/content`, {
            headers: await svc.auth(user),
          });
          expect(peek.status).toBe(404);
        }

        const dir = backend.dir as string;
        const stored = (await readdir(join(dir, 'files'), { recursive: true })).filter((p) =>
          String(p).endsWith('/content'),
        );
        expect(stored).toHaveLength(USERS.length * PER_USER);
        expect(await readdir(join(dir, 'tmp')).catch(() => [])).toEqual([]);
        note(`${sent.length} concurrent uploads, all read back by sha256, listings per user exact`);
        note('cross-user reads 404; 200 content files on disk, tmp/ empty');
      },
    ),
  );
});
