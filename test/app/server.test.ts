import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../app/auth/tokens';
import { spawnServer } from './process';
import { type Backend, SECRET, startApp, startBackend, upload, waitFor, walk } from './support';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('server.ts as a process', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-server-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('on SIGTERM stops accepting, finishes an in-flight upload, then exits 0', async () => {
    const server = await spawnServer({ STORAGE_DIR: dir, SHUTDOWN_TIMEOUT_MS: '20000' });
    const token = await mintToken({
      secret: SECRET,
      subject: 'alice',
      scopes: ['read', 'write'],
      ttlSeconds: 600,
    });
    const agent = new http.Agent({ keepAlive: true });

    // An idle keep-alive connection, which shutdown must not wait 72 s for.
    await new Promise<void>((resolve) =>
      http.get(`${server.base}/healthz`, { agent }, (r) => r.resume().on('end', resolve)),
    );

    const boundary = 'graceful';
    const req = http.request(`${server.base}/v1/files`, {
      method: 'POST',
      agent,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'transfer-encoding': 'chunked',
      },
    });
    const response = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
      (resolve, reject) => {
        req.on('response', (res) => {
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
      },
    );
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\n\r\n`);
    req.write(Buffer.alloc(100_000, 1));
    await waitFor(async () => (await walk(dir)).some((f) => f.startsWith('tmp/')), 'upload in progress');

    server.child.kill('SIGTERM');
    await waitFor(() => server.output().includes('shutting down'), 'shutdown to begin');

    // New connections are refused once the listener is closed.
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(Number(new URL(server.base).port), '127.0.0.1');
          s.on('connect', () => {
            s.destroy();
            resolve(false);
          });
          s.on('error', () => resolve(true));
        }),
      'listener to close',
    );

    // The in-flight upload still completes, told to close its connection.
    req.write(Buffer.alloc(100_000, 2));
    req.end(`\r\n--${boundary}--\r\n`);
    const res = await response;
    expect(res.status).toBe(201);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(res.body)).toMatchObject({ name: 'slow.bin', size: 200_000 });

    const exit = await server.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect((await walk(dir)).filter((f) => f.startsWith('files/alice/')).length).toBe(2);
    agent.destroy();
  });

  it('rejects bad configuration with one line per problem and no stack trace', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'app/server.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        PORT: 'eighty',
        STORAGE_BACKEND: 'oss',
        OSS_ACCESS_KEY_SECRET: 'shh-do-not-print',
        ALERT_THRESHOLDS: '80,150',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^config error: AUTH_SECRET: required when NODE_ENV=production/),
        'config error: PORT: expected an integer from 0 to 65535, got "eighty"',
        expect.stringMatching(/^config error: OSS_BUCKET: required when STORAGE_BACKEND=oss/),
        expect.stringMatching(/^config error: OSS_REGION: required/),
        expect.stringMatching(/^config error: OSS_ACCESS_KEY_ID: required/),
        expect.stringMatching(/^config error: ALERT_THRESHOLDS: expected comma-separated percentages/),
      ]),
    );
    expect(lines.every((l) => l.startsWith('config error: '))).toBe(true);
    expect(run.stderr).not.toContain('shh-do-not-print');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe('');
  });
});

describe('shutdown in process', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await startBackend('disk');
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('serves a request that arrives on a keep-alive connection while closing (not 503)', async () => {
    const svc = await startApp(backend);
    const f = await upload(svc, 'alice', 'big.bin', Buffer.alloc(16 * 1024 * 1024, 3));
    const token = await svc.token('alice');
    const sock = net.connect(Number(new URL(svc.base).port), '127.0.0.1');
    let got = Buffer.alloc(0);
    sock.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
    });
    // A download whose headers go out before shutdown (so they promise keep-alive)...
    sock.write(`GET /v1/files/${f.id}/content HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    await waitFor(() => got.includes('\r\n\r\n'), 'download headers');
    sock.pause();
    expect(got.toString('latin1')).toMatch(/connection: keep-alive/i);
    const closed = svc.app.close();
    await new Promise((r) => setTimeout(r, 100));
    sock.resume();
    const headerEnd = got.indexOf('\r\n\r\n') + 4;
    await waitFor(() => got.length >= headerEnd + 16 * 1024 * 1024, 'download to finish', 20_000);
    // ...then the client reuses the connection, as keep-alive allowed: served, and told to close.
    sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => sock.on('close', r));
    await closed;
    const second = got.subarray(headerEnd + 16 * 1024 * 1024).toString();
    expect(second.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(second).toMatch(/connection: close/i);
    expect(second).toContain('{"status":"ok"}');
  });

  it('does not wait for idle keep-alive connections to time out', async () => {
    const svc = await startApp(backend);
    const agent = new http.Agent({ keepAlive: true });
    const get = () =>
      new Promise<void>((resolve) =>
        http.get(`${svc.base}/healthz`, { agent }, (r) => r.resume().on('end', resolve)),
      );
    await get();
    await get();
    const started = Date.now();
    await svc.app.close();
    expect(Date.now() - started).toBeLessThan(5000);
    agent.destroy();
  });
});
