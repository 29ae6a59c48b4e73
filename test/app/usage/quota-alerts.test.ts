import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Backend,
  type RunningApp,
  rawMultipart,
  rawRequest,
  startApp,
  startBackend,
  startReceiver,
  upload,
  waitFor,
} from '../support';

async function usageOf(svc: RunningApp, user: string): Promise<{ bytes: number; files: number }> {
  return (await (await fetch(`${svc.base}/v1/usage`, { headers: await svc.auth(user) })).json()) as {
    bytes: number;
    files: number;
  };
}

async function tryUpload(svc: RunningApp, user: string, size: number) {
  const fd = new FormData();
  fd.append('file', new Blob([Buffer.alloc(size, 1)]), 'blob.bin');
  const res = await fetch(`${svc.base}/v1/files`, {
    method: 'POST',
    body: fd,
    headers: await svc.auth(user),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
}

/** Starts a chunked multipart upload and returns controls to feed and finish it. */
function slowUpload(svc: RunningApp, token: string) {
  const boundary = 'ferryslowboundary';
  const req = http.request(`${svc.base}/v1/files`, {
    method: 'POST',
    agent: false,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'transfer-encoding': 'chunked',
    },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  req.write(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  return {
    response,
    feed: (n: number) => new Promise<void>((r) => req.write(Buffer.alloc(n, 7), () => r())),
    finish: () => req.end(`\r\n--${boundary}--\r\n`),
  };
}

describe.each(['disk', 'oss'] as const)('per-user quota on the %s backend', (kind) => {
  let backend: Backend;
  let svc: RunningApp;

  beforeAll(async () => {
    backend = await startBackend(kind);
    // Byte-exact quotas here: the minimum charge per file has its own test (reliability/service-floods).
    svc = await startApp(backend, {
      USER_QUOTA_BYTES: '1000',
      MAX_UPLOAD_BYTES: '1MiB',
      MIN_FILE_CHARGE: '1',
    });
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });

  it('refuses the upload that would pass the quota, storing nothing', async () => {
    expect((await tryUpload(svc, 'q', 600)).status).toBe(201);
    const before = await backend.written();
    const refused = await tryUpload(svc, 'q', 401);
    expect(refused.status).toBe(413);
    expect(refused.body.error?.code).toBe('quota_exceeded');
    await new Promise((r) => setTimeout(r, 50));
    expect(await backend.written()).toEqual(before);
    expect(await usageOf(svc, 'q')).toMatchObject({ bytes: 600, files: 1 });
    // Exactly up to the quota is fine; one byte more is not.
    expect((await tryUpload(svc, 'q', 400)).status).toBe(201);
    expect((await tryUpload(svc, 'q', 1)).status).toBe(413);
    // Other users have their own quota.
    expect((await tryUpload(svc, 'q2', 900)).status).toBe(201);
  });

  it('refuses up front from Content-Length, before reading the body', async () => {
    const { body, contentType } = rawMultipart([{ filename: 'huge.bin', body: Buffer.alloc(200 * 1024) }]);
    const res = await rawRequest(`${svc.base}/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await svc.token('fresh')}`, 'content-type': contentType },
      body,
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('quota_exceeded');
    expect(res.headers.connection).toBe('close');
    const metrics = await (await fetch(`${svc.base}/metrics`)).text();
    expect(metrics).toMatch(/ferry_uploads_refused_total\{reason="quota_exceeded"\} [2-9]/);
  });

  it('counts uploads in flight on this host against the quota', async () => {
    const token = await svc.token('racer');
    const a = slowUpload(svc, token);
    await a.feed(600);
    await waitFor(
      async () => (await backend.written()).length > 0 || kind === 'oss',
      'first upload to start',
    );
    await new Promise((r) => setTimeout(r, 100));
    const b = slowUpload(svc, token);
    await b.feed(600);
    b.finish();
    const rb = await b.response;
    expect(rb.status).toBe(413);
    expect(JSON.parse(rb.body).error.code).toBe('quota_exceeded');
    a.finish();
    expect((await a.response).status).toBe(201);
    expect(await usageOf(svc, 'racer')).toMatchObject({ bytes: 600, files: 1 });
  });
});

describe('capacity alerts', () => {
  let backend: Backend;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const apps: RunningApp[] = [];

  beforeAll(async () => {
    backend = await startBackend('disk');
    receiver = await startReceiver();
  });
  afterEach(async () => {
    while (apps.length) await apps.pop()!.close();
    receiver.bodies.length = 0;
  });
  afterAll(async () => {
    await receiver?.close();
    await backend?.close();
  });

  const env = () => ({
    CAPACITY_BYTES: '1000',
    ALERT_THRESHOLDS: '50,90',
    ALERT_WEBHOOK_URL: receiver.url,
    USAGE_CACHE_SECONDS: '60',
  });
  const contents = () => receiver.bodies.map((b) => (b as { text: { content: string } }).text.content);

  it('posts a DingTalk-style message once per upward crossing, and re-arms below', async () => {
    const svc = await startApp(backend, env());
    apps.push(svc);
    await upload(svc, 'u1', 'a.bin', Buffer.alloc(400));
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.bodies).toEqual([]);

    const b = await upload(svc, 'u2', 'b.bin', Buffer.alloc(200)); // 60%: crosses 50
    await waitFor(() => receiver.bodies.length === 1, 'first alert');
    expect(receiver.bodies[0]).toEqual({
      msgtype: 'text',
      text: { content: expect.stringContaining('crossed 50%') },
    });

    await upload(svc, 'u1', 'c.bin', Buffer.alloc(100)); // 70%: nothing new
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.bodies.length).toBe(1);

    await upload(svc, 'u3', 'd.bin', Buffer.alloc(250)); // 95%: crosses 90
    await waitFor(() => receiver.bodies.length === 2, 'second alert');
    expect(contents()[1]).toContain('crossed 90%');

    // Down to 75% (below 90): re-armed; back up to 95% alerts again.
    await fetch(`${svc.base}/v1/files/${b.id}`, { method: 'DELETE', headers: await svc.auth('u2') });
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.bodies.length).toBe(2);
    await upload(svc, 'u2', 'e.bin', Buffer.alloc(200));
    await waitFor(() => receiver.bodies.length === 3, 'third alert');
    expect(contents()[2]).toContain('crossed 90%');
  });

  it('takes the usage at start as a baseline: no repeated alert after a restart', async () => {
    // The previous test left 950 of 1000 bytes: above both thresholds.
    const svc = await startApp(backend, env());
    apps.push(svc);
    await upload(svc, 'u4', 'f.bin', Buffer.alloc(10));
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.bodies).toEqual([]);
  });
});
