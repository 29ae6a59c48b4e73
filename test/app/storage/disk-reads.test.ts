// How the disk backend answers reads: small files whole (checked before a byte goes out), big ones
// streamed (checked as they go), metadata from the in-memory index when a worker has one, and the folder
// tree whenever the index does not know a file. Two apps on one folder stand for two cluster workers.
import { createHash } from 'node:crypto';
import { cp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMALL_FILE_BYTES } from '../../../app/storage/disk';
import { newFileId, objectKey } from '../../../app/storage/keys';
import { type Backend, type RunningApp, startApp, startBackend, type Uploaded, upload } from '../support';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('disk backend reads', () => {
  let backend: Backend;
  let a: RunningApp;
  let b: RunningApp;

  beforeAll(async () => {
    backend = await startBackend('disk');
    a = await startApp(backend);
    b = await startApp(backend);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await backend?.close();
  });

  const contentPath = (f: Uploaded) => path.join(backend.dir!, objectKey('alice', f.id), 'content');
  const get = async (svc: RunningApp, url: string, headers: Record<string, string> = {}) =>
    fetch(`${svc.base}${url}`, { headers: { ...(await svc.auth('alice')), ...headers } });

  it('refuses a small file whose bytes no longer match its sha256 with a 503, before any byte', async () => {
    const f = await upload(a, 'alice', 'small.bin', Buffer.alloc(1000, 7));
    const bytes = await readFile(contentPath(f));
    bytes[500] = bytes[500]! ^ 1;
    await writeFile(contentPath(f), bytes);

    const res = await get(a, `/v1/files/${f.id}/content`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-disposition')).toBeNull();
    expect(res.headers.get('etag')).toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('storage_unavailable');
    // A range of it too: the whole small file is checked, not only the part asked for.
    expect((await get(a, `/v1/files/${f.id}/content`, { range: 'bytes=0-9' })).status).toBe(503);

    // Cut short, or grown by a byte: also refused.
    await truncate(contentPath(f), 999);
    expect((await get(a, `/v1/files/${f.id}/content`)).status).toBe(503);
    await writeFile(contentPath(f), Buffer.alloc(1001, 7));
    expect((await get(a, `/v1/files/${f.id}/content`)).status).toBe(503);
  });

  it('breaks off a big file whose bytes no longer match: a 200 that never completes', async () => {
    const body = Buffer.alloc(SMALL_FILE_BYTES * 3, 3);
    const f = await upload(a, 'alice', 'big.bin', body);
    const bytes = await readFile(contentPath(f));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    await writeFile(contentPath(f), bytes);

    const res = await get(a, `/v1/files/${f.id}/content`);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });

  it('serves the sizes on both sides of the small-file limit, whole and by range', async () => {
    for (const size of [0, 1, SMALL_FILE_BYTES, SMALL_FILE_BYTES + 1, 3 * SMALL_FILE_BYTES + 5]) {
      const body = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7) % 251));
      const f = await upload(a, 'alice', `s${size}.bin`, body);
      const whole = await get(b, `/v1/files/${f.id}/content`);
      expect(whole.status).toBe(200);
      expect(whole.headers.get('content-length')).toBe(String(size));
      expect(sha(Buffer.from(await whole.arrayBuffer()))).toBe(sha(body));
      if (size < 10) continue;
      const from = size - 10;
      const part = await get(b, `/v1/files/${f.id}/content`, { range: `bytes=${from}-` });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes ${from}-${size - 1}/${size}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(body.subarray(from))).toBe(true);
    }
  });

  it("follows the other worker's uploads and deletes at once, with the index in memory", async () => {
    // b lists first: from then on b answers alice's metadata from its index.
    expect((await get(b, '/v1/files?limit=1')).status).toBe(200);
    const f = await upload(a, 'alice', 'shared.txt', Buffer.from('shared'));
    const meta = await get(b, `/v1/files/${f.id}`);
    expect([meta.status, await meta.json()]).toEqual([200, f]);

    const del = await fetch(`${a.base}/v1/files/${f.id}`, {
      method: 'DELETE',
      headers: await a.auth('alice'),
    });
    expect(del.status).toBe(204);
    expect((await get(b, `/v1/files/${f.id}`)).status).toBe(404);
    expect((await get(b, `/v1/files/${f.id}/content`)).status).toBe(404);
  });

  it('still finds a file whose index line was lost (a crash between rename and append)', async () => {
    expect((await get(b, '/v1/files?limit=1')).status).toBe(200);
    const f = await upload(a, 'alice', 'model.txt', Buffer.from('model'));
    // A second file put in place by hand, as if its log line had been lost.
    const id = newFileId('documents');
    const dir = path.join(backend.dir!, objectKey('alice', id));
    await cp(path.dirname(contentPath(f)), dir, { recursive: true });
    const record = { ...JSON.parse(await readFile(path.join(dir, 'meta.json'), 'utf8')), id };
    await writeFile(path.join(dir, 'meta.json'), JSON.stringify(record));

    const meta = await get(b, `/v1/files/${id}`);
    expect([meta.status, ((await meta.json()) as Uploaded).id]).toEqual([200, id]);
    const content = await get(b, `/v1/files/${id}/content`);
    expect([content.status, await content.text()]).toEqual([200, 'model']);
    await rm(dir, { recursive: true });
  });
});
