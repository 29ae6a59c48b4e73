// The SSH transport: node-ssh over one connection per host, host keys always verified. A command is an
// argv array joined with POSIX quoting, since an SSH exec request carries a single command line.
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { NodeSSH } from 'node-ssh';
import { writeFileArgv } from '../commands/files';
import { shellJoin } from '../commands/shell';
import { hostKeyVerifier } from './host-key';
import { type ExecOptions, type ExecResult, lineSplitter, type Transport } from './types';

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
