// The local transport: a "host" is a folder on this machine and commands run as child processes without a
// shell. It is what the demo and the local environment use, and it runs the same agent as SSH hosts do.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type ExecOptions,
  type ExecResult,
  lineSplitter,
  STREAM_GRACE_MS,
  type StreamOptions,
  type Transport,
} from './types';

export class LocalTransport implements Transport {
  constructor(
    readonly name: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [cmd, ...args] = argv;
    if (!cmd) return Promise.reject(new Error('empty command'));
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const lines = opts.onStdoutLine ? lineSplitter(opts.onStdoutLine) : null;
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        lines?.push(d);
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      let timedOut = false;
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs)
        : null;
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        lines?.end();
        resolve({ code: timedOut ? 124 : (code ?? (signal ? 128 + 9 : 1)), stdout, stderr });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(opts.stdin ?? '');
    });
  }

  stream(argv: readonly string[], opts: StreamOptions): Promise<{ code: number; stderr: string }> {
    const [cmd, ...args] = argv;
    if (!cmd) return Promise.reject(new Error('empty command'));
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
      const lines = lineSplitter(opts.onStdoutLine);
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => lines.push(d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < 65536) stderr += d;
      });
      child.stdin.on('error', () => {});
      let killer: NodeJS.Timeout | undefined;
      const stop = () => {
        child.stdin.end();
        killer = setTimeout(() => child.kill('SIGKILL'), opts.graceMs ?? STREAM_GRACE_MS);
      };
      if (opts.signal.aborted) stop();
      else opts.signal.addEventListener('abort', stop, { once: true });
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(killer);
        opts.signal.removeEventListener('abort', stop);
        lines.end();
        resolve({ code: code ?? (signal ? 128 + 9 : 1), stderr });
      });
    });
  }

  async writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await writeFile(tmp, content, { mode });
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async putFile(localPath: string, remotePath: string, mode = 0o644): Promise<void> {
    await mkdir(dirname(remotePath), { recursive: true });
    const tmp = `${remotePath}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await copyFile(localPath, tmp);
      await chmod(tmp, mode);
      await rename(tmp, remotePath);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async close(): Promise<void> {}
}
