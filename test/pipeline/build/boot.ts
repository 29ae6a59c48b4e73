// Boots an extracted release the way a host would (`node app/index.js`, no node_modules) and waits for
// /healthz, so build tests prove the artifact actually runs.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ArtifactEntry } from '../../../pipeline/build/read-artifact';

export async function extract(entries: readonly ArtifactEntry[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-release-'));
  for (const e of entries) {
    if (e.type !== 'file') continue;
    await mkdir(dirname(join(dir, e.path)), { recursive: true });
    await writeFile(join(dir, e.path), e.bytes);
  }
  return dir;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Booted {
  child: ChildProcess;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

export async function boot(
  dir: string,
  env: Record<string, string> = {},
  timeoutMs = 30_000,
  node = process.execPath,
): Promise<Booted> {
  const port = await freePort();
  const child = spawn(node, ['app/index.js'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const booted: Booted = {
    child,
    port,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`release exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return booted;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await booted.stop();
  throw new Error(`release did not become healthy in ${timeoutMs} ms:\n${output}`);
}
