// One app worker: a child process on the runtime its release pins, with the preload that moves its listen
// to a private loopback port (worker-preload.cjs). It is "ready" only once that port answers the health
// path with 2xx and the version path (when the app has one) with the release's version; until then it
// gets no user connection.
import { type ChildProcess, fork } from 'node:child_process';
import { sleep } from '../host/proc';
import { type Probe, passes, probeAt } from './health';
import { sendAwaitingAck } from './ipc-ack';
import type { WorkerMaintenance } from './maintenance';
import { OutputTail } from './output-tail';
import type { LineWriter } from './service-log';

export type WorkerState = 'starting' | 'probing' | 'listening' | 'standby' | 'retiring' | 'discarded';

export interface WorkerSpec {
  /** The release's entry, absolute. */
  exec: string;
  cwd: string;
  /** The node binary: the release's pinned runtime. */
  node: string;
  preload: string;
  env: Record<string, string>;
  publicPort: number;
  healthPath: string;
  /** null: the app has no version endpoint and a 2xx on healthPath is the whole gate. */
  versionPath: string | null;
  version: string;
  /** Where its stdout/stderr lines go (the service log, each line marked with the release and pid). */
  output?: (stream: 'out' | 'err', pid: number | null) => LineWriter;
  /** Maintenance mode at fork time; later changes arrive over IPC (maintenance.ts). */
  maintenance?: WorkerMaintenance;
}

/** Why a worker never became ready: what it printed and the last health answer, for the operator. */
export class WorkerFailed extends Error {
  constructor(
    message: string,
    readonly output: string[],
    readonly probe: Probe | null,
  ) {
    super(message);
  }
}

export class Worker {
  readonly child: ChildProcess;
  readonly tail = new OutputTail();
  state: WorkerState = 'starting';
  privatePort: number | null = null;
  exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly listening: Promise<number>;

  constructor(readonly spec: WorkerSpec) {
    this.child = fork(spec.exec, [], {
      cwd: spec.cwd,
      execPath: spec.node,
      execArgv: ['--require', spec.preload],
      env: {
        ...process.env,
        ...spec.env,
        FERRY_PUBLIC_PORT: String(spec.publicPort),
        // For the preload: the paths maintenance mode never refuses, and the mode itself.
        FERRY_PROBE_PATHS: JSON.stringify([spec.healthPath, spec.versionPath]),
        FERRY_MAINTENANCE: spec.maintenance ? JSON.stringify(spec.maintenance) : '',
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    // The app's output reaches the service log (journald or service.log) through the supervisor; the
    // tail keeps the last lines for a failure report.
    const out = spec.output?.('out', this.child.pid ?? null);
    const err = spec.output?.('err', this.child.pid ?? null);
    this.child.stdout?.on('data', (c: Buffer) => {
      if (out) out.write(c);
      else process.stdout.write(c);
      this.tail.push(c);
    });
    this.child.stderr?.on('data', (c: Buffer) => {
      if (err) err.write(c);
      else process.stderr.write(c);
      this.tail.push(c);
    });
    this.child.stdout?.on('end', () => out?.end());
    this.child.stderr?.on('end', () => err?.end());
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
    });
    // A send to a worker that just died fails with EPIPE on the channel; the exit handler deals with it.
    this.child.on('error', () => {});
    this.listening = new Promise<number>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        const msg = m as { ferry?: string; port?: unknown } | null;
        if (msg?.ferry === 'listening' && typeof msg.port === 'number') {
          this.privatePort = msg.port;
          this.child.off('message', onMessage);
          resolve(msg.port);
        }
      };
      this.child.on('message', onMessage);
      this.child.once('exit', (code, signal) =>
        reject(new Error(`worker ${this.pid} exited before listening (${signal ?? `code ${code}`})`)),
      );
    });
    this.listening.catch(() => {});
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  isDead(): boolean {
    return this.exited !== null || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.isDead()) this.child.kill(signal);
  }

  /**
   * Resolves once the worker listens on PORT (moved to its private port) within `listenMs`, and that
   * port passes the health gate before `deadline`. Probes start at once and back off from 25 to 250 ms,
   * so a fast app is admitted in a few tens of milliseconds.
   */
  async ready(listenMs: number, deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `worker ${this.pid} did not listen on PORT=${this.spec.publicPort} within ${listenMs} ms`,
            ),
          ),
        listenMs,
      );
    });
    let port: number;
    try {
      port = await Promise.race([this.listening, timeout]);
    } catch (err) {
      await this.settleOutput();
      throw new WorkerFailed((err as Error).message, this.tail.snapshot(), null);
    } finally {
      clearTimeout(timer);
    }
    this.state = 'probing';
    let last: Probe = { ok: false, error: 'not probed' };
    let pause = 25;
    for (;;) {
      if (this.isDead()) {
        await this.settleOutput();
        const how = this.exited?.signal ?? `code ${this.exited?.code ?? this.child.exitCode}`;
        throw new WorkerFailed(
          `worker ${this.pid} exited during its health check (${how})`,
          this.tail.snapshot(),
          last,
        );
      }
      last = await probeAt('127.0.0.1', port, this.spec, 2000);
      if (passes(last, this.spec, this.spec.version)) return;
      if (Date.now() >= deadline) {
        throw new WorkerFailed(
          `worker ${this.pid} failed its health check on its private port`,
          this.tail.snapshot(),
          last,
        );
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 250);
    }
  }

  /** One probe of the private port (a standby worker before it takes traffic again). */
  probe(timeoutMs = 2000): Promise<Probe> {
    if (this.privatePort === null || this.isDead())
      return Promise.resolve({ ok: false, error: 'not listening' });
    return probeAt('127.0.0.1', this.privatePort, this.spec, timeoutMs);
  }

  /**
   * Tells the preload to let go of its keep-alive connections (standby) or to serve again (resume).
   * Resolves once the preload confirms (for standby: its idle connections are already ended), or after
   * `ackMs` or the worker's exit: a reload waits for it, so a client that hears "deployed" and sends its
   * next request on an old idle connection finds it closed, rather than racing its close.
   */
  signal(what: 'standby' | 'resume', ackMs = 1000): Promise<boolean> {
    return sendAwaitingAck(this.child, { ferry: what }, (m) => m.ferry === `${what}-applied`, ackMs);
  }

  /** Output written just before an exit may still be in the pipe: give it a moment to arrive. */
  private async settleOutput(): Promise<void> {
    if (!this.isDead()) return;
    await Promise.race([
      new Promise<void>((resolve) => this.child.once('close', () => resolve())),
      sleep(200),
    ]);
  }
}
