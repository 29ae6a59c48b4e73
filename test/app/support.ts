import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type AppDeps, buildApp } from '../../app/app';
import { mintToken, type Scope } from '../../app/auth/tokens';
import { type Config, loadConfig } from '../../app/config';
import { type OssServer, startOssServer } from '../support/oss-server/index';

export const SECRET = 'test-secret-0123456789-0123456789-abcdef';
export type BackendKind = 'disk' | 'oss';

/** A storage backend for a test: a temp folder, or the OSS test server. */
export interface Backend {
  kind: BackendKind;
  env: Record<string, string>;
  dir?: string;
  oss?: OssServer;
  /** Every stored path/key, including temporaries (not the disk catalog's index): what "nothing was written" is checked against. */
  written(): Promise<string[]>;
  close(): Promise<void>;
}

export async function startBackend(kind: BackendKind): Promise<Backend> {
  if (kind === 'disk') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-app-'));
    return {
      kind,
      dir,
      env: { STORAGE_BACKEND: 'disk', STORAGE_DIR: dir },
      // index/ holds the catalog's per-user logs (bookkeeping, built on first use), not stored files.
      written: async () => (await walk(dir)).filter((f) => !f.startsWith('index/')),
      close: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const oss = await startOssServer();
  const o = oss.clientOptions('public');
  return {
    kind,
    oss,
    env: {
      STORAGE_BACKEND: 'oss',
      OSS_BUCKET: o.bucket,
      OSS_ENDPOINT: o.endpoint,
      OSS_CNAME: 'true',
      OSS_ACCESS_KEY_ID: o.accessKeyId,
      OSS_ACCESS_KEY_SECRET: o.accessKeySecret,
    },
    written: async () => [...oss.objects().keys()],
    close: () => oss.close(),
  };
}

/** Files (not folders) under a directory, relative, sorted. */
export async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) await visit(full);
      else out.push(path.relative(dir, full));
    }
  };
  await visit(dir);
  return out.sort();
}

export function testConfig(env: Record<string, string>): Config {
  return loadConfig({ NODE_ENV: 'test', AUTH_SECRET: SECRET, ...env });
}

export interface RunningApp {
  app: FastifyInstance;
  base: string;
  config: Config;
  token(user: string, scopes?: Scope[]): Promise<string>;
  auth(user: string, scopes?: Scope[]): Promise<{ authorization: string }>;
  close(): Promise<void>;
}

/** Builds the app on a backend and listens on a real loopback port. */
export async function startApp(
  backend: Backend,
  env: Record<string, string> = {},
  deps: AppDeps = {},
): Promise<RunningApp> {
  const config = testConfig({ ...backend.env, ...env });
  const app = await buildApp(config, { logger: false, ...deps });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const token = (user: string, scopes: Scope[] = ['read', 'write']) =>
    mintToken({ secret: SECRET, subject: user, scopes, ttlSeconds: 600 });
  return {
    app,
    base: `http://127.0.0.1:${port}`,
    config,
    token,
    auth: async (user, scopes) => ({ authorization: `Bearer ${await token(user, scopes)}` }),
    close: () => app.close(),
  };
}

export interface Uploaded {
  id: string;
  name: string;
  size: number;
  contentType: string;
  category: string;
  sha256: string;
  createdAt: string;
}

export async function upload(
  running: RunningApp,
  user: string,
  name: string,
  content: string | Buffer,
  type?: string,
): Promise<Uploaded> {
  const fd = new FormData();
  fd.append('file', new Blob([content], type ? { type } : {}), name);
  const res = await fetch(`${running.base}/v1/files`, {
    method: 'POST',
    body: fd,
    headers: await running.auth(user),
  });
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as Uploaded;
}

export interface RawPart {
  field?: string;
  /** Raw filename bytes as they go on the wire (undefined: no filename parameter). */
  filename?: string | Buffer;
  contentType?: string;
  body: Buffer | string;
}

/** A multipart body built by hand, so hostile filenames reach the server unescaped. */
export function rawMultipart(parts: RawPart[]): { body: Buffer; contentType: string } {
  const boundary = `----ferry${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const fname =
      p.filename === undefined
        ? Buffer.alloc(0)
        : Buffer.concat([Buffer.from('; filename="'), Buffer.from(p.filename), Buffer.from('"')]);
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.field ?? 'file'}"`),
      fname,
      Buffer.from(`\r\nContent-Type: ${p.contentType ?? 'application/octet-stream'}\r\n\r\n`),
      Buffer.from(p.body),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request over a fresh connection with node:http (fetch would normalise what we send). */
export function rawRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string | number>; body?: Buffer },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A loopback HTTP server recording JSON POSTs (an alert webhook stand-in). */
export async function startReceiver(): Promise<{ url: string; bodies: unknown[]; close(): Promise<void> }> {
  const bodies: unknown[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString()));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/robot/send?access_token=t`,
    bodies,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
