// One user with many files against a real listening server: the per-user file limit and minimum charge,
// listings served from the catalog's index (never a walk of storage on the request path), workers that
// share a folder agreeing at once, the background reconcile, and the usage race of a slow listing.
import { createHash } from 'node:crypto';
import { appendFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFileId, objectKey } from '../../app/storage/keys';
import { OssStorage } from '../../app/storage/oss';
import type { FileRecord } from '../../app/storage/types';
import {
  type Backend,
  type RunningApp,
  rawMultipart,
  startApp,
  startBackend,
  upload,
  waitFor,
} from '../app/support';
import { recorded } from './support/record';

const SUITE = 'service-floods';

interface Page {
  items: { id: string; size: number; name: string }[];
  nextCursor: string | null;
}
interface Usage {
  bytes: number;
  chargedBytes: number;
  files: number;
}

async function getJson<T>(svc: RunningApp, user: string, p: string): Promise<T> {
  const res = await fetch(`${svc.base}${p}`, { headers: await svc.auth(user) });
  if (res.status !== 200) throw new Error(`GET ${p}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function tryUpload(
  svc: RunningApp,
  user: string,
  size: number,
): Promise<{ status: number; code?: string }> {
  const { body, contentType } = rawMultipart([{ filename: 'e.bin', body: Buffer.alloc(size, 1) }]);
  const res = await fetch(`${svc.base}/v1/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await svc.token(user)}`, 'content-type': contentType },
    body,
  });
  const json = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: json.error?.code };
}

/** Every page of a listing, in order. */
async function listAll(svc: RunningApp, user: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page: Page = await getJson<Page>(
      svc,
      user,
      `/v1/files?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(page.items.length).toBeLessThanOrEqual(limit);
    ids.push(...page.items.map((i) => i.id));
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

/** Files written straight into the disk layout, as an older version (or a crash) would leave them. */
async function seedDisk(root: string, user: string, count: number, t0: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = newFileId('other', t0 + i);
    const dir = path.join(root, objectKey(user, id));
    await mkdir(dir, { recursive: true });
    const record: FileRecord = {
      id,
      userId: user,
      name: `seed-${i}.bin`,
      size: 0,
      contentType: 'application/octet-stream',
      category: 'other',
      sha256: createHash('sha256').digest('hex'),
      createdAt: new Date(t0 + i).toISOString(),
    };
    await writeFile(path.join(dir, 'content'), '');
    await writeFile(path.join(dir, 'meta.json'), JSON.stringify(record));
    ids.push(id);
  }
  return ids;
}

describe.each(['disk', 'oss'] as const)('limits on the %s backend', (kind) => {
  let backend: Backend;
  let svc: RunningApp;

  beforeAll(async () => {
    backend = await startBackend(kind);
    svc = await startApp(backend, {
      MAX_FILES_PER_USER: '20',
      MIN_FILE_CHARGE: '4096',
      USER_QUOTA_BYTES: '10MB',
    });
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });

  it(
    '25 empty uploads at once against MAX_FILES_PER_USER=20',
    recorded(
      {
        suite: SUITE,
        case: `${kind}: 25 concurrent empty uploads, MAX_FILES_PER_USER=20`,
        proves:
          'exactly 20 are stored and 5 refused (413 file_limit_reached), in-flight uploads included; a delete makes room again',
      },
      async (note) => {
        const results = await Promise.all(Array.from({ length: 25 }, () => tryUpload(svc, 'flooder', 0)));
        const stored = results.filter((r) => r.status === 201).length;
        expect(stored).toBe(20);
        expect(results.filter((r) => r.status === 413).map((r) => r.code)).toEqual(
          Array(5).fill('file_limit_reached'),
        );
        const list = await listAll(svc, 'flooder', 100);
        expect(list).toHaveLength(20);
        const del = await fetch(`${svc.base}/v1/files/${list[0]}`, {
          method: 'DELETE',
          headers: await svc.auth('flooder'),
        });
        expect(del.status).toBe(204);
        expect((await tryUpload(svc, 'flooder', 0)).status).toBe(201);
        note(`${stored} × 201, 5 × 413 file_limit_reached; after one delete, one more 201`);
      },
    ),
  );

  it(
    'empty files are charged the block they cost',
    recorded(
      {
        suite: SUITE,
        case: `${kind}: empty files against a 10000-byte quota, MIN_FILE_CHARGE=4096`,
        proves:
          'each file counts as at least MIN_FILE_CHARGE: the third empty file is refused (quota_exceeded)',
      },
      async (note) => {
        const small = await startApp(backend, { MIN_FILE_CHARGE: '4096', USER_QUOTA_BYTES: '10000' });
        try {
          expect((await tryUpload(small, 'empty', 0)).status).toBe(201);
          expect((await tryUpload(small, 'empty', 0)).status).toBe(201);
          expect(await tryUpload(small, 'empty', 0)).toEqual({ status: 413, code: 'quota_exceeded' });
          const u = await getJson<Usage>(small, 'empty', '/v1/usage');
          expect(u).toMatchObject({ bytes: 0, chargedBytes: 8192, files: 2 });
          note('2 × 201, third 413 quota_exceeded; usage bytes 0, chargedBytes 8192');
        } finally {
          await small.close();
        }
      },
    ),
  );
});

describe('a big user on the disk backend', () => {
  let backend: Backend;
  let svc: RunningApp;
  let seeded: string[];
  const COUNT = 3000;

  beforeAll(async () => {
    backend = await startBackend('disk');
    seeded = await seedDisk(backend.dir!, 'big', COUNT, Date.UTC(2026, 10, 1));
    svc = await startApp(backend, { MAX_FILES_PER_USER: '0', USAGE_CACHE_SECONDS: '3600' });
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });

  it(
    'lists 3000 files page by page from the index, without touching the folder tree',
    recorded(
      {
        suite: SUITE,
        case: 'disk: 3000 files left by an older version (no index yet), listed 100 at a time',
        proves:
          'the index is built once from the tree; then every page and /v1/usage come from it: with the folder moved away they still answer the same',
      },
      async (note) => {
        const all = await listAll(svc, 'big', 100);
        expect(all).toEqual([...seeded].reverse());
        const moved = path.join(backend.dir!, 'moved-away');
        await rename(path.join(backend.dir!, 'files', 'big'), moved);
        try {
          expect(await listAll(svc, 'big', 100)).toEqual(all);
          const first = await getJson<Page>(svc, 'big', '/v1/files?limit=1');
          expect(first.items[0]!.id).toBe(seeded.at(-1));
          expect(await getJson<Usage>(svc, 'big', '/v1/usage')).toMatchObject({ files: COUNT, bytes: 0 });
        } finally {
          await rename(moved, path.join(backend.dir!, 'files', 'big'));
        }
        note(
          `${COUNT} ids newest first over ${COUNT / 100} pages; identical with files/big moved away; usage ${COUNT} files`,
        );
      },
    ),
  );

  it(
    'two workers sharing the folder agree at once',
    recorded(
      {
        suite: SUITE,
        case: 'disk: an upload through one worker, a listing and a delete through another',
        proves:
          "workers follow each other's index lines: no stale listing or usage between processes on one host",
      },
      async (note) => {
        const other = await startApp(backend, { MAX_FILES_PER_USER: '0', USAGE_CACHE_SECONDS: '3600' });
        try {
          const before = await getJson<Usage>(other, 'big', '/v1/usage');
          const f = await upload(svc, 'big', 'shared.txt', 'seen by both');
          const page = await getJson<Page>(other, 'big', '/v1/files?limit=1');
          expect(page.items[0]!.id).toBe(f.id);
          expect((await getJson<Usage>(other, 'big', '/v1/usage')).files).toBe(before.files + 1);
          const del = await fetch(`${other.base}/v1/files/${f.id}`, {
            method: 'DELETE',
            headers: await other.auth('big'),
          });
          expect(del.status).toBe(204);
          expect((await getJson<Page>(svc, 'big', '/v1/files?limit=1')).items[0]!.id).toBe(seeded.at(-1));
          expect((await getJson<Usage>(svc, 'big', '/v1/usage')).files).toBe(before.files);
          note('upload via A listed by B at once; delete via B gone from A at once');
        } finally {
          await other.close();
        }
      },
    ),
  );
});

describe('the background reconcile on the disk backend', () => {
  let backend: Backend;
  let svc: RunningApp;

  beforeAll(async () => {
    backend = await startBackend('disk');
    svc = await startApp(backend, { USAGE_CACHE_SECONDS: '1' });
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });

  it(
    'a file whose index line was lost appears, one whose folder vanished goes',
    recorded(
      {
        suite: SUITE,
        case: 'disk: a folder added and one removed behind the service (a crash between rename and log line)',
        proves:
          'the index is compared with the tree in the background and corrected, not on the request path',
      },
      async (note) => {
        const kept = await upload(svc, 'drift', 'kept.txt', 'kept');
        const vanishing = await upload(svc, 'drift', 'gone.txt', 'gone');
        const [orphan] = await seedDisk(backend.dir!, 'drift', 1, Date.now());
        await rm(path.join(backend.dir!, objectKey('drift', vanishing.id)), { recursive: true });
        const ids = await waitFor(
          async () => {
            const got = await listAll(svc, 'drift', 100);
            return got.includes(orphan!) && !got.includes(vanishing.id) ? got : null;
          },
          'the reconcile',
          15_000,
        );
        expect(ids!.sort()).toEqual([kept.id, orphan!].sort());
        expect((await getJson<Usage>(svc, 'drift', '/v1/usage')).files).toBe(2);
        note('orphan folder listed, vanished folder dropped; usage 2 files');
      },
    ),
  );
});

describe('a log line cut short on the disk backend', () => {
  let backend: Backend;
  let svc: RunningApp;

  beforeAll(async () => {
    backend = await startBackend('disk');
    svc = await startApp(backend, { USAGE_CACHE_SECONDS: '3600' });
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });

  it(
    'a half-written line at the end of the index log costs neither the entries around it nor later ones',
    recorded(
      {
        suite: SUITE,
        case: 'disk: the index log ends in half a line (a crash mid-append)',
        proves: 'the torn line is skipped; files before it and uploads after it are all listed and counted',
      },
      async (note) => {
        const before = await upload(svc, 'torn', 'before.txt', 'b');
        await appendFile(path.join(backend.dir!, 'index', 'torn.log'), '\n+{"id":"o01kx');
        expect((await listAll(svc, 'torn', 10)).length).toBe(1);
        const after = await upload(svc, 'torn', 'after.txt', 'a');
        expect(await listAll(svc, 'torn', 10)).toEqual([after.id, before.id]);
        expect((await getJson<Usage>(svc, 'torn', '/v1/usage')).files).toBe(2);
        note('torn line skipped; both files listed, usage 2 files');
      },
    ),
  );
});

describe('OSS: listings cost the page', () => {
  let backend: Backend;
  let svc: RunningApp;
  const COUNT = 2500;

  beforeAll(async () => {
    backend = await startBackend('oss');
    const oss = backend.oss!;
    const t0 = Date.UTC(2026, 10, 1);
    for (let i = 0; i < COUNT; i++) {
      const id = newFileId('other', t0 + i);
      oss.putObject(objectKey('many', id), '', {
        contentType: 'application/octet-stream',
        meta: {
          name: `seed-${i}.bin`,
          sha256: createHash('sha256').digest('hex'),
          size: '0',
          created: new Date(t0 + i).toISOString(),
        },
      });
    }
    svc = await startApp(backend, { MAX_FILES_PER_USER: '0', USAGE_CACHE_SECONDS: '3600' });
    // The start-up sweep of tmp/ lists once; let it pass before counting.
    await waitFor(() => oss.log.some((e) => e.op === 'ListObjectsV2'), 'the tmp/ sweep');
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });

  it(
    'one walk with continuation tokens, then a page costs its own HEADs only',
    recorded(
      {
        suite: SUITE,
        case: 'OSS: a user with 2500 objects, then GET /v1/files?limit=50 twice',
        proves:
          'the first use walks ListObjectsV2 pages (continuation tokens); after that a page lists nothing and HEADs at most its own 50 files, once',
      },
      async (note) => {
        const oss = backend.oss!;
        const ops = () => oss.log.map((e) => e.op);
        const count = (op: string, from: number) =>
          ops()
            .slice(from)
            .filter((o) => o === op).length;
        let mark = oss.log.length;
        await getJson<Usage>(svc, 'many', '/v1/usage');
        const walkPages = count('ListObjectsV2', mark);
        expect(walkPages).toBe(3);

        mark = oss.log.length;
        const page = await getJson<Page>(svc, 'many', '/v1/files?limit=50');
        expect(page.items).toHaveLength(50);
        expect(count('ListObjectsV2', mark)).toBe(0);
        expect(count('HeadObject', mark)).toBe(50);

        mark = oss.log.length;
        await getJson<Page>(svc, 'many', '/v1/files?limit=50');
        expect(oss.log.length - mark).toBe(0);
        note(
          `first use: ${walkPages} ListObjectsV2 pages; a page of 50: 0 lists, 50 HEADs; again: no OSS request`,
        );
      },
    ),
  );
});

describe('OSS: a slow listing cannot roll usage back', () => {
  let backend: Backend;
  let svc: RunningApp;
  let storage: OssStorage;

  beforeAll(async () => {
    backend = await startBackend('oss');
    const o = backend.oss!.clientOptions('public');
    // The app's own backend, so the test can start a reconcile walk at a moment of its choosing.
    storage = new OssStorage({
      bucket: o.bucket,
      endpoint: o.endpoint,
      cname: true,
      credentials: { accessKeyId: o.accessKeyId, accessKeySecret: o.accessKeySecret },
      catalog: { minChargeBytes: 1, reconcileMs: 3600_000 },
    });
    svc = await startApp(backend, { USER_QUOTA_BYTES: '1048576', MIN_FILE_CHARGE: '1' }, { storage });
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });

  const racing = async (
    note: (d: string) => void,
    user: string,
    slowRead: () => Promise<unknown>,
    what: string,
  ) => {
    const oss = backend.oss!;
    expect((await getJson<Usage>(svc, user, '/v1/usage')).bytes).toBe(0);
    // Listings answer with what was there when they arrived, 1.5 s later.
    oss.faults.latency(1500, { op: 'ListObjectsV2' });
    const reading = slowRead();
    await new Promise((r) => setTimeout(r, 200));
    expect((await tryUpload(svc, user, 600 * 1024)).status).toBe(201);
    await reading;
    oss.faults.latency(0);

    const second = await tryUpload(svc, user, 600 * 1024);
    const stored = [...oss.objects().entries()]
      .filter(([k]) => k.startsWith(`files/${user}/`))
      .reduce((sum, [, o]) => sum + o.body.length, 0);
    expect(second).toEqual({ status: 413, code: 'quota_exceeded' });
    expect(stored).toBe(600 * 1024);
    expect((await getJson<Usage>(svc, user, '/v1/usage')).bytes).toBe(600 * 1024);
    note(`first 201 during ${what}; second 413 quota_exceeded; ${stored} bytes stored against a 1 MiB quota`);
  };

  it(
    'an upload that finishes during a slow GET /v1/files still counts',
    recorded(
      {
        suite: SUITE,
        case: 'OSS: 600 KiB stored while a slow GET /v1/files runs, then 600 KiB more (1 MiB quota)',
        proves:
          'a listing never resets usage: the second upload is refused (quota_exceeded), nothing over 1 MiB is stored (before: 1,228,800 bytes were)',
      },
      (note) => racing(note, 'racer1', () => getJson<Page>(svc, 'racer1', '/v1/files'), 'a slow listing'),
    ),
  );

  it(
    'a file deleted during a slow reconcile walk stays deleted',
    recorded(
      {
        suite: SUITE,
        case: 'OSS: a 600 KiB file deleted while a slow reconcile walk that listed it runs',
        proves:
          'the walk cannot bring a deleted file back into usage: the full quota is free again afterwards',
      },
      async (note) => {
        const oss = backend.oss!;
        const user = 'racer3';
        const f = await upload(svc, user, 'gone.bin', Buffer.alloc(600 * 1024, 3));
        oss.faults.latency(1500, { op: 'ListObjectsV2' });
        const walking = storage.catalog.reconcileAll();
        await new Promise((r) => setTimeout(r, 200));
        const del = await fetch(`${svc.base}/v1/files/${f.id}`, {
          method: 'DELETE',
          headers: await svc.auth(user),
        });
        expect(del.status).toBe(204);
        await walking;
        oss.faults.latency(0);
        expect(await getJson<Usage>(svc, user, '/v1/usage')).toMatchObject({ bytes: 0, files: 0 });
        expect(await listAll(svc, user, 10)).toEqual([]);
        expect((await tryUpload(svc, user, 1000 * 1024)).status).toBe(201);
        note('deleted during the walk; usage 0 after it; a 1000 KiB upload then fits the 1 MiB quota');
      },
    ),
  );

  it(
    'an upload that finishes during a slow reconcile walk still counts',
    recorded(
      {
        suite: SUITE,
        case: 'OSS: 600 KiB stored while a slow background reconcile walk runs, then 600 KiB more',
        proves:
          'a walk that started before a write finished cannot lose it (journaled, merged by file id): the second upload is refused',
      },
      (note) => racing(note, 'racer2', () => storage.catalog.reconcileAll(), 'a slow reconcile walk'),
    ),
  );
});
