// Starting the two services under test: Ferry's storage service from its ncc bundle (one process, or N
// workers under Ferry's own supervisor, as hosts run it), and the FastAPI reference (N uvicorn processes
// on one SO_REUSEPORT port).
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { bundleApp } from '../../pipeline/build/bundle';
import { waitForHttp } from './net';
import type { BenchContext } from './part';
import { spawnTracked, type Tracked } from './procs';
import { startSupervised } from './supervised';

export const REPO = join(import.meta.dirname, '..', '..');
export const PYTHON = '/usr/bin/python3';
const FASTAPI_DIR = join(REPO, 'bench', 'fastapi');
/** Shared by both services and the tokens the load generators send. */
export const AUTH_SECRET = 'ferry-bench-secret-not-for-production-0123';

export interface ServiceBundle {
  dir: string;
  entry: string;
  nccMs: number;
  files: { path: string; bytes: Buffer; executable: boolean }[];
}

/** The app's ncc bundle (what a release ships), built once per run: ncc takes ~20 s on 2 cores. */
export function serviceBundle(ctx: BenchContext): Promise<ServiceBundle> {
  return ctx.shared('service-bundle', async () => {
    ctx.log('bundling app/server.ts with ncc (once per run)…');
    const t0 = performance.now();
    const files = await bundleApp(join(REPO, 'app', 'server.ts'), REPO);
    const nccMs = performance.now() - t0;
    const dir = join(ctx.runTmp, 'service-bundle');
    for (const f of files) {
      await mkdir(dirname(join(dir, f.path)), { recursive: true });
      await writeFile(join(dir, f.path), f.bytes, { mode: f.executable ? 0o755 : 0o644 });
    }
    return { dir, entry: join(dir, 'index.js'), nccMs, files };
  });
}

export interface ServiceOptions {
  port: number;
  storageDir: string;
  workers: number;
  env?: Record<string, string>;
}

const serviceEnv = (o: ServiceOptions) => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? '/tmp',
  AUTH_SECRET,
  STORAGE_DIR: o.storageDir,
  USER_QUOTA_BYTES: '0',
  MAX_UPLOAD_BYTES: String(2 * 2 ** 30),
  ...o.env,
});

export async function startFerry(bundle: ServiceBundle, o: ServiceOptions): Promise<Tracked> {
  const env = {
    ...serviceEnv(o),
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(o.port),
    LOG_LEVEL: 'warn',
  };
  if (o.workers > 1) {
    const { AUTH_SECRET: secret, PATH: _path, HOME: _home, ...rest } = env;
    return startSupervised(bundle, {
      root: `${o.storageDir}.host`,
      port: o.port,
      workers: o.workers,
      env: rest,
      secrets: { AUTH_SECRET: secret },
    });
  }
  const proc = spawnTracked(`ferry service (${o.workers}w)`, process.execPath, [bundle.entry], { env });
  await waitForHttp(`http://127.0.0.1:${o.port}/healthz`, { proc });
  return proc;
}

export async function startFastApi(o: ServiceOptions): Promise<Tracked[]> {
  const procs: Tracked[] = [];
  for (let i = 0; i < o.workers; i++) {
    procs.push(
      spawnTracked(`fastapi worker ${i + 1}`, PYTHON, [join(FASTAPI_DIR, 'serve.py'), String(o.port)], {
        cwd: FASTAPI_DIR,
        env: { ...serviceEnv(o), PYTHONDONTWRITEBYTECODE: '1' },
      }),
    );
  }
  // Each worker binds its own socket: ready when all of them listen.
  for (const p of procs) await waitUntil(() => listeners(o.port) >= o.workers, p);
  await waitForHttp(`http://127.0.0.1:${o.port}/healthz`, { proc: procs[0]! });
  return procs;
}

/** Listening IPv4 sockets on 127.0.0.1:port, from /proc/net/tcp (state 0A = LISTEN). */
export function listeners(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .filter((l) => {
      const f = l.trim().split(/\s+/);
      return f[1] === local && f[3] === '0A';
    }).length;
}

async function waitUntil(ok: () => boolean, proc: Tracked, settleMs = 0, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (proc.exited()) throw new Error(`${proc.name} exited:\n${proc.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (settleMs) await new Promise((r) => setTimeout(r, settleMs));
}
