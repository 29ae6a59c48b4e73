import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OssCredentials } from '../../../app/storage/oss';
import { type Backend, type RunningApp, startApp, startBackend, upload } from '../support';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('OSS backend against a misbehaving OSS', () => {
  let backend: Backend;
  let svc: RunningApp;

  beforeAll(async () => {
    backend = await startBackend('oss');
    svc = await startApp(backend);
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });
  const oss = () => backend.oss!;

  it('retries idempotent calls on 5xx and counts the retries', async () => {
    const f = await upload(svc, 'alice', 'r.txt', 'retry me');
    oss().faults.failNext(2, 503, { op: 'HeadObject' });
    const res = await fetch(`${svc.base}/v1/files/${f.id}`, { headers: await svc.auth('alice') });
    expect(res.status).toBe(200);
    const metrics = await (await fetch(`${svc.base}/metrics`)).text();
    expect(metrics).toMatch(/ferry_storage_retries_total\{operation="head"\} 2/);
  });

  it('answers 503 storage_unavailable when OSS keeps failing', async () => {
    const f = await upload(svc, 'alice', 'down.txt', 'x');
    oss().faults.failNext(10, 503, { op: 'HeadObject' });
    const res = await fetch(`${svc.base}/v1/files/${f.id}`, { headers: await svc.auth('alice') });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('storage_unavailable');
    oss().faults.clear();
  });

  it('retries a failed copy; a failed upload PUT leaves nothing behind', async () => {
    oss().faults.failNext(1, 500, { op: 'CopyObject' });
    const ok = await upload(svc, 'bob', 'copy.txt', 'copied');
    expect(
      oss().getObject(`files/bob/documents/${ok.createdAt.slice(0, 4)}/${ok.createdAt.slice(5, 7)}/${ok.id}`),
    ).toBeDefined();

    const before = [...oss().objects().keys()];
    oss().faults.failNext(1, 503, { op: 'PutObject' });
    const fd = new FormData();
    fd.append('file', new Blob(['lost']), 'lost.txt');
    const res = await fetch(`${svc.base}/v1/files`, {
      method: 'POST',
      body: fd,
      headers: await svc.auth('bob'),
    });
    expect(res.status).toBe(503);
    expect([...oss().objects().keys()]).toEqual(before);
  });

  it('breaks off a download whose bytes do not match the stored sha256', async () => {
    const body = Buffer.alloc(300_000, 5);
    const f = await upload(svc, 'alice', 'big.bin', body);
    oss().faults.corruptNext(1);
    const res = await fetch(`${svc.base}/v1/files/${f.id}/content`, { headers: await svc.auth('alice') });
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();

    // Without the fault the same download is whole and correct.
    const good = await fetch(`${svc.base}/v1/files/${f.id}/content`, { headers: await svc.auth('alice') });
    expect(sha(Buffer.from(await good.arrayBuffer()))).toBe(f.sha256);
  });

  it('breaks off a download when OSS resets the connection mid-body', async () => {
    const f = await upload(svc, 'alice', 'reset.bin', Buffer.alloc(200_000, 9));
    oss().faults.resetNext(1, { afterBytes: 50_000 });
    const res = await fetch(`${svc.base}/v1/files/${f.id}/content`, { headers: await svc.auth('alice') });
    // A reset drops what the kernel had buffered, so the failure may come before the first byte
    // (a clean 503 the client can retry) or after it (a transfer cut short): never a whole-looking file.
    if (res.status === 200) {
      await expect(res.arrayBuffer()).rejects.toThrow();
    } else {
      expect(res.status).toBe(503);
      expect(res.headers.get('content-disposition')).toBeNull();
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('storage_unavailable');
    }
  });

  it('never lists the temporary object of an upload in progress', async () => {
    const boundary = 'b0undary';
    const h = await svc.auth('slow');
    const slow = fetch(`${svc.base}/v1/files`, {
      method: 'POST',
      headers: { ...h, 'content-type': `multipart/form-data; boundary=${boundary}` },
      duplex: 'half',
      body: new ReadableStream({
        async start(ctl) {
          ctl.enqueue(
            new TextEncoder().encode(
              `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.txt"\r\n\r\npart one `,
            ),
          );
          await new Promise((r) => setTimeout(r, 400));
          ctl.enqueue(new TextEncoder().encode(`part two\r\n--${boundary}--\r\n`));
          ctl.close();
        },
      }),
    } as RequestInit);
    await new Promise((r) => setTimeout(r, 200));
    expect([...oss().objects().keys()].some((k) => k.startsWith('tmp/'))).toBe(false);
    const list = (await (await fetch(`${svc.base}/v1/files`, { headers: h })).json()) as { items: unknown[] };
    expect(list.items).toEqual([]);
    const res = await slow;
    expect(res.status).toBe(201);
    expect([...oss().objects().keys()].filter((k) => k.startsWith('tmp/'))).toEqual([]);
    const after = (await (await fetch(`${svc.base}/v1/files`, { headers: h })).json()) as {
      items: unknown[];
    };
    expect(after.items.length).toBe(1);
  });
});

describe('OSS credentials provider hook', () => {
  it('asks the provider again as credentials near expiry, and uses the new ones', async () => {
    const backend = await startBackend('oss');
    const oss = backend.oss!;
    const first = { accessKeyId: 'sts-1', accessKeySecret: 'secret-1', stsToken: 'token-1' };
    oss.setCredentials(first);
    let current: OssCredentials = {
      accessKeyId: 'sts-1',
      accessKeySecret: 'secret-1',
      securityToken: 'token-1',
      // Inside the refresh margin: every call re-asks the provider.
      expiration: new Date(Date.now() + 60_000),
    };
    let calls = 0;
    const svc = await startApp(
      backend,
      { OSS_ACCESS_KEY_ID: 'unused', OSS_ACCESS_KEY_SECRET: 'unused' },
      {
        ossCredentials: async () => {
          calls++;
          return current;
        },
      },
    );
    try {
      const a = await upload(svc, 'alice', 'a.txt', 'one');
      expect(calls).toBeGreaterThan(0);
      oss.setCredentials({ accessKeyId: 'sts-2', accessKeySecret: 'secret-2', stsToken: 'token-2' });
      current = {
        accessKeyId: 'sts-2',
        accessKeySecret: 'secret-2',
        securityToken: 'token-2',
        expiration: new Date(Date.now() + 3600_000),
      };
      const b = await upload(svc, 'alice', 'b.txt', 'two');
      const res = await fetch(`${svc.base}/v1/files/${a.id}/content`, { headers: await svc.auth('alice') });
      expect(await res.text()).toBe('one');
      expect(b.size).toBe(3);
      const used = new Set(oss.log.map((e) => e.accessKeyId).filter(Boolean));
      expect(used).toEqual(new Set(['sts-1', 'sts-2']));
    } finally {
      await svc.close();
      await backend.close();
    }
  });
});
