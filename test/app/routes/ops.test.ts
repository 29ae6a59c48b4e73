import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type RunningApp, startApp, startBackend, upload } from '../support';

describe.each(['disk', 'oss'] as const)('ops endpoints on the %s backend', (kind) => {
  let backend: Backend;
  let svc: RunningApp;

  beforeAll(async () => {
    backend = await startBackend(kind);
    svc = await startApp(
      backend,
      {},
      {
        release: {
          name: 'ferry-storage',
          version: '9.9.9',
          commit: 'cafe',
          buildTime: '2026-01-01T00:00:00Z',
        },
      },
    );
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });

  it('/healthz and /readyz answer ok', async () => {
    expect(await (await fetch(`${svc.base}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${svc.base}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ok' }]);
  });

  it('/version reports the release', async () => {
    expect(await (await fetch(`${svc.base}/version`)).json()).toEqual({
      name: 'ferry-storage',
      version: '9.9.9',
      commit: 'cafe',
      buildTime: '2026-01-01T00:00:00Z',
      node: process.version,
      pid: process.pid,
    });
  });

  it('/metrics exposes request, byte and refusal counters by route template', async () => {
    const f = await upload(svc, 'm', 'm.txt', 'metrics!');
    await (await fetch(`${svc.base}/v1/files/${f.id}/content`, { headers: await svc.auth('m') })).text();
    await fetch(`${svc.base}/v1/files/${f.id}`, { headers: await svc.auth('other') });
    const res = await fetch(`${svc.base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/ferry_http_requests_total\{method="POST",route="\/v1\/files",status="201"\} 1/);
    expect(text).toMatch(/ferry_http_requests_total\{method="GET",route="\/v1\/files\/:id",status="404"\} 1/);
    expect(text).toMatch(
      /ferry_http_request_duration_seconds_bucket\{le="[^"]+",method="GET",route="\/v1\/files\/:id\/content",status="200"\}/,
    );
    expect(text).toMatch(/ferry_uploaded_bytes_total 8/);
    expect(text).toMatch(/ferry_downloaded_bytes_total 8/);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('/docs serves the UI and the OpenAPI document', async () => {
    const ui = await fetch(`${svc.base}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');
    const css = await fetch(`${svc.base}/docs/static/swagger-ui.css`);
    expect(css.status).toBe(200);
    const spec = (await (await fetch(`${svc.base}/docs/json`)).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          { requestBody?: { content: Record<string, unknown> }; parameters?: { name: string }[] }
        >
      >;
    };
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths['/v1/files']!)).toEqual(expect.arrayContaining(['get', 'post']));
    expect(Object.keys(spec.paths['/v1/files']!.post!.requestBody!.content)).toEqual(['multipart/form-data']);
    expect(spec.paths['/v1/files']!.get!.parameters!.map((p) => p.name)).toEqual(
      expect.arrayContaining(['category', 'limit', 'cursor', 'user']),
    );
  });

  it('unknown routes answer a JSON 404', async () => {
    const res = await fetch(`${svc.base}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no route for GET /nope' } });
  });
});

describe('/readyz when storage is unreachable', () => {
  it('answers 503 on disk when the folder is gone', async () => {
    const backend = await startBackend('disk');
    const svc = await startApp(backend);
    try {
      await rm(backend.dir!, { recursive: true, force: true });
      const res = await fetch(`${svc.base}/readyz`);
      expect([res.status, await res.json()]).toEqual([
        503,
        { status: 'unavailable', reason: 'storage unreachable' },
      ]);
      expect((await fetch(`${svc.base}/healthz`)).status).toBe(200);
    } finally {
      await svc.close();
      await backend.close();
    }
  });

  it('answers 503 on OSS when OSS keeps failing', async () => {
    const backend = await startBackend('oss');
    const svc = await startApp(backend);
    try {
      backend.oss!.faults.failNext(10, 503, { op: 'ListObjectsV2' });
      expect((await fetch(`${svc.base}/readyz`)).status).toBe(503);
      backend.oss!.faults.clear();
      expect((await fetch(`${svc.base}/readyz`)).status).toBe(200);
    } finally {
      await svc.close();
      await backend.close();
    }
  });
});
