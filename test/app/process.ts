import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { SECRET } from './support';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface ServerProcess {
  child: ChildProcess;
  base: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs the service as its own process: `node --import tsx app/server.ts` (or another entry, e.g.
 * a bundle) on an ephemeral port, resolved from the "Server listening at" log line.
 */
export async function spawnServer(
  env: Record<string, string>,
  opts: { entry?: string[]; cwd?: string; inheritPath?: boolean } = {},
): Promise<ServerProcess> {
  const args = opts.entry ?? ['--import', 'tsx', path.join(ROOT, 'app/server.ts')];
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd ?? ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      AUTH_SECRET: SECRET,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => {
    out += c;
  });
  child.stderr!.on('data', (c) => {
    out += c;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const check = () => {
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  return { child, base, output: () => out, exited };
}
