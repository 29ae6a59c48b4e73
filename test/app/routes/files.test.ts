import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type RunningApp, startApp, startBackend, upload } from '../support';

interface UsageBody {
  userId: string;
  bytes: number;
  chargedBytes: number;
  files: number;
  fileLimit: number | null;
  quotaBytes: number | null;
  remainingBytes: number | null;
  categories: Record<string, { bytes: number; files: number }>;
}

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

describe.each(['disk', 'oss'] as const)('files API on the %s backend', (kind) => {
  let backend: Backend;
  let svc: RunningApp;

  beforeAll(async () => {
    backend = await startBackend(kind);
    svc = await startApp(backend);
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });

  it('uploads a file and answers with its metadata', async () => {
    const f = await upload(svc, 'alice', 'report 2024 – été.pdf', 'pdf bytes', 'application/pdf');
    expect(f).toMatchObject({
      name: 'report 2024 – été.pdf',
      size: 9,
      contentType: 'application/pdf',
      category: 'documents',
      sha256: sha('pdf bytes'),
    });
    expect(f.id).toMatch(/^d[0-7][0-9a-z]{25}$/);
    expect(Date.parse(f.createdAt)).toBeGreaterThan(Date.now() - 60_000);

    const meta = await fetch(`${svc.base}/v1/files/${f.id}`, { headers: await svc.auth('alice') });
    expect(meta.status).toBe(200);
    expect(await meta.json()).toEqual(f);
  });

  it('categorises by content type, falling back to the extension', async () => {
    const cases: [string, string | undefined, string][] = [
      ['a.png', 'image/png', 'images'],
      ['clip.mp4', undefined, 'videos'],
      ['song.bin', 'audio/mpeg', 'audio'],
      ['backup.tar.gz', undefined, 'archives'],
      ['blob.xyz', undefined, 'other'],
    ];
    for (const [name, type, category] of cases) {
      expect((await upload(svc, 'cats', name, 'x', type)).category, name).toBe(category);
    }
  });

  it('lists newest first, filters by category, and pages with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await upload(svc, 'lister', `f${i}.txt`, `n${i}`)).id);
    ids.push((await upload(svc, 'lister', 'pic.png', 'img', 'image/png')).id);
    const h = await svc.auth('lister');

    const all = (await (await fetch(`${svc.base}/v1/files?limit=100`, { headers: h })).json()) as {
      items: { id: string }[];
      nextCursor: string | null;
    };
    expect(all.items.map((i) => i.id)).toEqual([...ids].reverse());
    expect(all.nextCursor).toBeNull();

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const page = (await (await fetch(`${svc.base}/v1/files?limit=2${q}`, { headers: h })).json()) as {
        items: { id: string }[];
        nextCursor: string | null;
      };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const images = (await (await fetch(`${svc.base}/v1/files?category=images`, { headers: h })).json()) as {
      items: { id: string; category: string }[];
    };
    expect(images.items.map((i) => i.id)).toEqual([ids[5]]);
  });

  it('streams the content with ETag, Content-Disposition and conditional requests', async () => {
    const body = Buffer.from('x'.repeat(100_000) + 'tail');
    const f = await upload(svc, 'alice', "中文 l'été (1).bin", body);
    const h = await svc.auth('alice');
    const res = await fetch(`${svc.base}/v1/files/${f.id}/content`, { headers: h });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
    expect(res.headers.get('etag')).toBe(`"${sha(body)}"`);
    expect(res.headers.get('content-length')).toBe(String(body.length));
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="__ l'_t_ (1).bin"; filename*=UTF-8''%E4%B8%AD%E6%96%87%20l%27%C3%A9t%C3%A9%20%281%29.bin`,
    );
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');

    const again = await fetch(`${svc.base}/v1/files/${f.id}/content`, {
      headers: { ...h, 'if-none-match': `"${sha(body)}"` },
    });
    expect(again.status).toBe(304);

    const head = await fetch(`${svc.base}/v1/files/${f.id}/content`, { method: 'HEAD', headers: h });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(body.length));
  });

  it('answers Range requests with 206, and 416 when unsatisfiable', async () => {
    const f = await upload(svc, 'alice', 'digits.txt', '0123456789');
    const h = await svc.auth('alice');
    const get = (range: string, extra: Record<string, string> = {}) =>
      fetch(`${svc.base}/v1/files/${f.id}/content`, { headers: { ...h, range, ...extra } });

    let res = await get('bytes=2-5');
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('bytes 2-5/10');
    expect(await res.text()).toBe('2345');

    res = await get('bytes=7-');
    expect([res.status, await res.text()]).toEqual([206, '789']);
    res = await get('bytes=-3');
    expect([res.status, await res.text()]).toEqual([206, '789']);
    res = await get('bytes=8-100');
    expect([res.status, res.headers.get('content-range'), await res.text()]).toEqual([
      206,
      'bytes 8-9/10',
      '89',
    ]);

    res = await get('bytes=10-');
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe('bytes */10');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('range_not_satisfiable');

    // If-Range with a stale validator: the whole file.
    res = await get('bytes=2-5', { 'if-range': '"stale"' });
    expect([res.status, await res.text()]).toEqual([200, '0123456789']);
  });

  it('gives a time-limited URL that can be fetched without a token', async () => {
    const f = await upload(svc, 'alice', 'shared.txt', 'share me');
    const res = await fetch(`${svc.base}/v1/files/${f.id}/url?expires=120`, {
      headers: await svc.auth('alice'),
    });
    expect(res.status).toBe(200);
    const { url, expiresAt, via } = (await res.json()) as { url: string; expiresAt: string; via: string };
    expect(via).toBe(kind === 'oss' ? 'oss' : 'service');
    expect(Math.abs(Date.parse(expiresAt) - (Date.now() + 120_000))).toBeLessThan(5000);
    if (kind === 'oss') expect(url.startsWith(backend.oss!.endpoints.public!)).toBe(true);

    const direct = await fetch(url);
    expect(direct.status).toBe(200);
    expect(await direct.text()).toBe('share me');
    expect(direct.headers.get('content-disposition')).toContain("filename*=UTF-8''shared.txt");

    // Tampering with the signature is refused.
    const forged = new URL(url);
    const sigParam = kind === 'oss' ? 'Signature' : 'sig';
    forged.searchParams.set(sigParam, `${forged.searchParams.get(sigParam)!.slice(0, -3)}AAA`);
    expect((await fetch(forged)).status).toBe(403);
  });

  it('refuses an expired service link', async () => {
    const f = await upload(svc, 'alice', 'old.txt', 'old');
    const res = await fetch(`${svc.base}/v1/files/${f.id}/url?expires=2`, {
      headers: await svc.auth('alice'),
    });
    const { url, expiresAt, via } = (await res.json()) as { url: string; expiresAt: string; via: string };
    expect(via).toBe(kind === 'oss' ? 'oss' : 'service');
    // The link works while it is valid, so the 403 below is the expiry and nothing else.
    const fresh = await fetch(url);
    expect(fresh.status).toBe(200);
    expect(await fresh.text()).toBe('old');
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiresAt) + 1100 - Date.now())));
    const late = await fetch(url);
    expect(late.status).toBe(403);
    expect(await late.text()).toMatch(/expired/i);
  });

  it('deletes a file; then it is gone everywhere', async () => {
    const f = await upload(svc, 'deleter', 'bye.txt', 'bye');
    const h = await svc.auth('deleter');
    const del = await fetch(`${svc.base}/v1/files/${f.id}`, { method: 'DELETE', headers: h });
    expect(del.status).toBe(204);
    expect((await fetch(`${svc.base}/v1/files/${f.id}`, { headers: h })).status).toBe(404);
    expect((await fetch(`${svc.base}/v1/files/${f.id}/content`, { headers: h })).status).toBe(404);
    expect((await fetch(`${svc.base}/v1/files/${f.id}`, { method: 'DELETE', headers: h })).status).toBe(404);
    const list = (await (await fetch(`${svc.base}/v1/files`, { headers: h })).json()) as { items: unknown[] };
    expect(list.items).toEqual([]);
    expect((await backend.written()).filter((k) => k.includes(f.id))).toEqual([]);
  });

  it('reports usage per category, following uploads and deletes', async () => {
    const h = await svc.auth('counter');
    await upload(svc, 'counter', 'a.png', Buffer.alloc(1000), 'image/png');
    const doc = await upload(svc, 'counter', 'b.txt', Buffer.alloc(250));
    let u = (await (await fetch(`${svc.base}/v1/usage`, { headers: h })).json()) as UsageBody;
    // Each file counts as at least MIN_FILE_CHARGE (4 KiB by default) against the quota.
    expect(u).toMatchObject({
      userId: 'counter',
      bytes: 1250,
      chargedBytes: 8192,
      files: 2,
      fileLimit: 100_000,
      quotaBytes: 1024 ** 3,
    });
    expect(u.remainingBytes).toBe(1024 ** 3 - 8192);
    expect(u.categories.images).toEqual({ bytes: 1000, files: 1 });
    expect(u.categories.documents).toEqual({ bytes: 250, files: 1 });
    await fetch(`${svc.base}/v1/files/${doc.id}`, { method: 'DELETE', headers: h });
    u = (await (await fetch(`${svc.base}/v1/usage`, { headers: h })).json()) as UsageBody;
    expect([u.bytes, u.files, u.categories.documents]).toEqual([1000, 1, { bytes: 0, files: 0 }]);
  });

  it("never lets one user see, fetch, sign or delete another user's file (404, not 403)", async () => {
    const f = await upload(svc, 'owner', 'secret.txt', 'top secret');
    const mallory = await svc.auth('mallory', ['read', 'write']);
    for (const [method, p] of [
      ['GET', `/v1/files/${f.id}`],
      ['GET', `/v1/files/${f.id}/content`],
      ['GET', `/v1/files/${f.id}/url`],
      ['DELETE', `/v1/files/${f.id}`],
    ] as const) {
      const res = await fetch(`${svc.base}${p}`, { method, headers: mallory });
      expect(res.status, `${method} ${p}`).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
    const list = (await (await fetch(`${svc.base}/v1/files`, { headers: mallory })).json()) as {
      items: unknown[];
    };
    expect(list.items).toEqual([]);
    // Naming the owner needs the admin scope.
    const asOwner = await fetch(`${svc.base}/v1/files/${f.id}?user=owner`, { headers: mallory });
    expect(asOwner.status).toBe(403);
    // The file is untouched.
    const mine = await fetch(`${svc.base}/v1/files/${f.id}/content`, { headers: await svc.auth('owner') });
    expect(await mine.text()).toBe('top secret');
  });

  it('lets the admin scope act for another user with ?user=', async () => {
    const f = await upload(svc, 'managed', 'm.txt', 'managed');
    const admin = await svc.auth('root', ['admin']);
    const list = (await (await fetch(`${svc.base}/v1/files?user=managed`, { headers: admin })).json()) as {
      items: { id: string }[];
    };
    expect(list.items.map((i) => i.id)).toEqual([f.id]);
    const usage = (await (await fetch(`${svc.base}/v1/usage?user=managed`, { headers: admin })).json()) as {
      userId: string;
      bytes: number;
    };
    expect(usage).toMatchObject({ userId: 'managed', bytes: 7 });
    const content = await fetch(`${svc.base}/v1/files/${f.id}/content?user=managed`, { headers: admin });
    expect(await content.text()).toBe('managed');
    const del = await fetch(`${svc.base}/v1/files/${f.id}?user=managed`, {
      method: 'DELETE',
      headers: admin,
    });
    expect(del.status).toBe(204);
  });

  it('enforces scopes: read cannot write', async () => {
    const readOnly = await svc.auth('alice', ['read']);
    const fd = new FormData();
    fd.append('file', new Blob(['x']), 'x.txt');
    const res = await fetch(`${svc.base}/v1/files`, { method: 'POST', body: fd, headers: readOnly });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
  });

  it('stores through a hidden temporary and leaves nothing else behind', async () => {
    const before = await backend.written();
    const f = await upload(svc, 'tidy', 'one.txt', 'one');
    const added = (await backend.written()).filter((k) => !before.includes(k));
    const expected =
      kind === 'disk'
        ? [
            expect.stringMatching(new RegExp(`^files/tidy/documents/\\d{4}/\\d{2}/${f.id}/content$`)),
            expect.stringMatching(new RegExp(`^files/tidy/documents/\\d{4}/\\d{2}/${f.id}/meta\\.json$`)),
          ]
        : [expect.stringMatching(new RegExp(`^files/tidy/documents/\\d{4}/\\d{2}/${f.id}$`))];
    expect(added).toEqual(expected);
    if (kind === 'oss') {
      const obj = backend.oss!.getObject(added[0]!)!;
      expect(obj.meta).toMatchObject({ sha256: sha('one'), name: 'one.txt', size: '3' });
      expect(obj.contentType).toBe('text/plain');
      const ops = backend.oss!.log.map((e) => e.op);
      expect(ops).toContain('CopyObject');
    }
  });
});
