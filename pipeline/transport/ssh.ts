// The SSH transport: node-ssh over one connection per host, host keys always verified. A command is an
// argv array joined with POSIX quoting, since an SSH exec request carries a single command line.
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { NodeSSH } from 'node-ssh';
import { writeFileArgv } from '../commands/files';
import { shellJoin } from '../commands/shell';
import { hostKeyVerifier } from './host-key';
import {
  type ExecOptions,
  type ExecResult,
  lineSplitter,
  STREAM_GRACE_MS,
  type StreamOptions,
  type Transport,
} from './types';

export interface SshTarget {
  name: string;
  address: string;
  port: number;
  user: string;
  /** Expected host key fingerprint, `SHA256:…` as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  privateKey: string;
  readyTimeoutMs?: number;
}

/** The part of ssh2's client a stream uses (ssh2 ships no type declarations here). */
interface Ssh2Channel extends NodeJS.EventEmitter {
  stderr: NodeJS.EventEmitter;
  end(): void;
  signal(name: string): void;
  close(): void;
}
type Ssh2Exec = (command: string, cb: (err: Error | undefined, channel: Ssh2Channel) => void) => void;

export class SshTransport implements Transport {
  readonly name: string;
  private constructor(
    private readonly ssh: NodeSSH,
    target: SshTarget,
  ) {
    this.name = target.name;
  }

  static async connect(target: SshTarget): Promise<SshTransport> {
    // Loaded on the first connection: node-ssh (ssh2) costs every command that never opens one.
    const { NodeSSH } = await import('node-ssh');
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: target.address,
        port: target.port,
        username: target.user,
        privateKey: target.privateKey,
        readyTimeout: target.readyTimeoutMs ?? 15_000,
        hostVerifier: hostKeyVerifier(target.hostKeyFingerprint),
      });
    } catch (err) {
      ssh.dispose();
      const msg = (err as Error).message;
      if (/verification failed|host key/i.test(msg)) {
        throw new Error(
          `${target.name} (${target.address}:${target.port}): host key does not match ${target.hostKeyFingerprint} — refusing to connect`,
        );
      }
      throw new Error(`${target.name} (${target.address}:${target.port}): ssh connection failed: ${msg}`);
    }
    return new SshTransport(ssh, target);
  }

  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const lines = opts.onStdoutLine ? lineSplitter(opts.onStdoutLine) : null;
    const run = this.ssh.execCommand(shellJoin(argv), {
      ...(opts.stdin !== undefined
        ? { stdin: typeof opts.stdin === 'string' ? opts.stdin : Readable.from([opts.stdin]) }
        : {}),
      onStdout: (chunk) => lines?.push(chunk.toString('utf8')),
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = opts.timeoutMs
      ? new Promise<ExecResult>((resolve) => {
          timer = setTimeout(() => resolve({ code: 124, stdout: '', stderr: 'timed out' }), opts.timeoutMs);
        })
      : null;
    try {
      const res = timeout ? await Promise.race([run, timeout]) : await run;
      lines?.end();
      return 'code' in res && typeof res.code === 'number'
        ? { code: res.code, stdout: res.stdout, stderr: res.stderr }
        : { code: 255, stdout: res.stdout, stderr: res.stderr || 'remote command ended by a signal' };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  stream(argv: readonly string[], opts: StreamOptions): Promise<{ code: number; stderr: string }> {
    const conn = this.ssh.connection as unknown as { exec: Ssh2Exec } | null;
    if (!conn) return Promise.reject(new Error(`${this.name}: not connected`));
    // ssh2 directly: node-ssh's execCommand keeps all output in memory, which a follow must not.
    return new Promise((resolve, reject) => {
      conn.exec(shellJoin(argv), (err, channel) => {
        if (err) {
          reject(new Error(`${this.name}: ${err.message}`));
          return;
        }
        const lines = lineSplitter(opts.onStdoutLine);
        const decoder = new StringDecoder('utf8');
        let stderr = '';
        let code: number | null = null;
        channel.on('data', (d: Buffer) => lines.push(decoder.write(d)));
        channel.stderr.on('data', (d: Buffer) => {
          if (stderr.length < 65536) stderr += d.toString('utf8');
        });
        channel.on('exit', (c: number | null) => {
          code = c;
        });
        let closer: NodeJS.Timeout | undefined;
        let settled = false;
        const settle = (r: { code: number; stderr: string }) => {
          if (settled) return;
          settled = true;
          clearTimeout(closer);
          opts.signal.removeEventListener('abort', stop);
          lines.push(decoder.end());
          lines.end();
          resolve(r);
        };
        const grace = opts.graceMs ?? STREAM_GRACE_MS;
        const stop = () => {
          // SIGTERM to the command's process group (the agent and its journalctl), where sshd passes
          // signals on; and EOF, so its stdin closes, where it does not. Either ends `agent logs`.
          channel.signal('TERM');
          channel.end();
          closer = setTimeout(() => {
            channel.close();
            // sshd reports the close only once the command has exited: do not wait for one that ignores both.
            settle({
              code: 255,
              stderr: `${stderr}the command did not end within ${grace} ms of being told to; it may still run on ${this.name}`,
            });
          }, grace);
        };
        if (opts.signal.aborted) stop();
        else opts.signal.addEventListener('abort', stop, { once: true });
        channel.on('close', () => settle({ code: code ?? 255, stderr }));
      });
    });
  }

  async writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const res = await this.exec(writeFileArgv(path, mode), { stdin: content });
    if (res.code !== 0) throw new Error(`${this.name}: could not write ${path}: ${res.stderr.trim()}`);
  }

  async putFile(localPath: string, remotePath: string, mode = 0o644): Promise<void> {
    await this.writeFile(remotePath, await readFile(localPath), mode);
  }

  async close(): Promise<void> {
    this.ssh.dispose();
  }
}
