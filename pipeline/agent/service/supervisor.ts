// The service supervisor: a cluster primary that owns the listening socket while workers come and go.
// Workers run the bundle `current` resolves to AT FORK TIME, so a SIGHUP after a switch starts the new
// release: new workers first, old ones retired only once every new one listens. At least one worker
// holds the shared handle throughout, so the port never closes and no connection is refused.
import cluster, { type Worker } from 'node:cluster';
import { readFile, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, parseManifest } from '../../release/manifest';
import { writeFileAtomic, writeJsonAtomic } from '../host/fsutil';
import type { HostPaths } from '../host/paths';
import { loadServiceConfig, type ServiceConfig } from './config';
import { parseDotenv } from './dotenv';
import type { ReloadRecord, SupervisorState, WorkerInfo } from './supervisor-state';

interface Generation {
  id: number;
  releaseDir: string;
  version: string;
  exec: string;
  env: Record<string, string>;
}

interface Tracked {
  worker: Worker;
  gen: Generation;
  state: WorkerInfo['state'] | 'discarded';
  listeningSince?: number;
}

export class Supervisor {
  private config: ServiceConfig;
  private readonly tracked = new Map<number, Tracked>();
  private serving: Generation | null = null;
  private nextGen = 1;
  private busy = false;
  private pending: ReloadRecord['reason'] | null = null;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 1000;
  private lastReload: ReloadRecord | null = null;
  private readonly crashes = {
    total: 0,
    consecutive: 0,
    lastAt: null as string | null,
    last: null as string | null,
    nextRestartMs: 0,
  };
  private readonly startedAt = new Date().toISOString();
  private writeChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly paths: HostPaths,
    config: ServiceConfig,
    private readonly log: (line: string) => void,
  ) {
    this.config = config;
  }

  async start(): Promise<void> {
    // Round-robin in the primary: connections are handed to workers that still accept, so a retiring
    // worker that stopped listening never receives a new one.
    cluster.schedulingPolicy = cluster.SCHED_RR;
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    cluster.on('listening', (worker) => this.onListening(worker));
    await writeFileAtomic(this.paths.supervisorPid, `${process.pid}\n`);
    process.on('SIGHUP', () => this.requestReload('hup'));
    process.on('SIGTERM', () => void this.shutdown('SIGTERM'));
    process.on('SIGINT', () => void this.shutdown('SIGINT'));
    this.requestReload('start');
  }

  requestReload(reason: ReloadRecord['reason']): void {
    if (this.stopping) return;
    if (this.busy) {
      // Signals arriving mid-reload are folded into one more reload afterwards, which re-resolves `current`.
      this.pending = reason === 'retry' && this.pending ? this.pending : reason;
      return;
    }
    clearTimeout(this.retryTimer);
    this.busy = true;
    void this.reload(reason).finally(() => {
      this.busy = false;
      const next = this.pending;
      this.pending = null;
      if (next) this.requestReload(next);
    });
  }

  private async reload(reason: ReloadRecord['reason']): Promise<void> {
    const startedAtMs = Date.now();
    let gen: Generation | null = null;
    let error: string | undefined;
    try {
      this.config = await loadServiceConfig(this.paths.serviceConfig).catch((err: Error) => {
        this.log(`supervisor: keeping the previous service.json: ${err.message}`);
        return this.config;
      });
      gen = await this.resolveGeneration();
      if (gen === null) {
        this.log('supervisor: no `current` release; serving nothing until the next reload');
        this.retireAllBut(null);
        this.serving = null;
      } else {
        this.log(
          `supervisor: generation ${gen.id}: starting ${this.config.workers} worker(s) of ${gen.version}`,
        );
        await this.launch(gen);
        const old = this.serving;
        this.serving = gen;
        this.retryDelayMs = 1000;
        this.crashes.consecutive = 0;
        this.retireAllBut(gen);
        this.log(
          `supervisor: generation ${gen.id} (${gen.version}) serving${old ? `, retiring ${old.version}` : ''}`,
        );
      }
    } catch (err) {
      error = (err as Error).message;
      this.log(`supervisor: reload failed: ${error}`);
    }
    const finishedAtMs = Date.now();
    this.lastReload = {
      ok: error === undefined,
      reason,
      startedAtMs,
      finishedAtMs,
      at: new Date(finishedAtMs).toISOString(),
      generation: gen?.id ?? 0,
      version: gen?.version ?? null,
      ...(error !== undefined ? { error } : {}),
    };
    if (error !== undefined && this.serving === null && !this.stopping) {
      // Nothing serves (first start failed): retry with backoff instead of idling until a deploy, so a
      // host that boots before its database comes up heals by itself.
      const delay = this.retryDelayMs;
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, 30_000);
      this.retryTimer = setTimeout(() => this.requestReload('retry'), delay);
      this.crashes.nextRestartMs = delay;
    }
    this.persist();
  }

  private async resolveGeneration(): Promise<Generation | null> {
    let dir: string;
    try {
      dir = await realpath(this.paths.current);
    } catch {
      return null;
    }
    const manifest = parseManifest(await readFile(join(dir, MANIFEST_FILE)));
    let secrets: Record<string, string> = {};
    try {
      secrets = parseDotenv(await readFile(this.paths.sharedEnv, 'utf8'));
    } catch {
      secrets = {};
    }
    const env: Record<string, string> = {
      NODE_ENV: 'production',
      ...this.config.env,
      ...secrets,
      // Last: the port and host the agent health-checks are the ones the app must bind.
      PORT: String(this.config.port),
      HOST: this.config.host,
      FERRY_RELEASE: manifest.version,
    };
    return {
      id: this.nextGen++,
      releaseDir: dir,
      version: manifest.version,
      exec: join(dir, manifest.entry),
      env,
    };
  }

  private fork(gen: Generation): Tracked {
    // Settings apply to the next fork only, and each generation runs its own release directory.
    cluster.setupPrimary({ exec: gen.exec, cwd: gen.releaseDir, execArgv: [], args: [], silent: false });
    const worker = cluster.fork(gen.env);
    const t: Tracked = { worker, gen, state: 'starting' };
    this.tracked.set(worker.id, t);
    return t;
  }

  /** Forks a full generation and resolves once all listen; on any failure kills them and throws. */
  private async launch(gen: Generation): Promise<void> {
    const started = Array.from({ length: this.config.workers }, () => this.fork(gen));
    this.persist();
    const timeoutMs = this.config.startTimeoutSec * 1000;
    try {
      await Promise.all(
        started.map(
          (t) =>
            new Promise<void>((resolve, reject) => {
              const timer = setTimeout(
                () =>
                  reject(new Error(`worker ${t.worker.process.pid} did not listen within ${timeoutMs} ms`)),
                timeoutMs,
              );
              t.worker.once('listening', () => {
                clearTimeout(timer);
                resolve();
              });
              t.worker.once('exit', (code, signal) => {
                clearTimeout(timer);
                reject(
                  new Error(
                    `worker exited before listening (${signal ?? `code ${code}`}); see the service log`,
                  ),
                );
              });
            }),
        ),
      );
    } catch (err) {
      for (const t of started) {
        t.state = 'discarded';
        if (!t.worker.isDead()) t.worker.process.kill('SIGKILL');
      }
      throw err;
    }
  }

  private onListening(worker: Worker) {
    const t = this.tracked.get(worker.id);
    if (t && t.state === 'starting') {
      t.state = 'listening';
      t.listeningSince = Date.now();
      this.persist();
    }
  }

  /** Old workers get SIGTERM (the app drains in-flight requests and exits), then SIGKILL after the drain time. */
  private retireAllBut(keep: Generation | null) {
    for (const t of this.tracked.values()) {
      if (t.gen === keep || t.state === 'retiring' || t.state === 'discarded') continue;
      t.state = 'retiring';
      t.worker.process.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!t.worker.isDead()) t.worker.process.kill('SIGKILL');
      }, this.config.drainTimeoutSec * 1000);
      timer.unref();
    }
    this.persist();
  }

  private onExit(worker: Worker, code: number | null, signal: string | null) {
    const t = this.tracked.get(worker.id);
    this.tracked.delete(worker.id);
    if (!t) return;
    if (t.state === 'retiring' || t.state === 'discarded' || this.stopping || t.gen !== this.serving) {
      this.persist();
      return;
    }
    // A serving worker died on its own: restart it in the same generation, backing off on a crash loop.
    const now = Date.now();
    if (this.crashes.lastAt && now - Date.parse(this.crashes.lastAt) > 60_000) this.crashes.consecutive = 0;
    this.crashes.total++;
    this.crashes.consecutive++;
    this.crashes.lastAt = new Date(now).toISOString();
    this.crashes.last = `worker ${worker.process.pid} of ${t.gen.version} exited (${signal ?? `code ${code}`})`;
    const delay = Math.min(250 * 2 ** (this.crashes.consecutive - 1), 15_000);
    this.crashes.nextRestartMs = delay;
    this.log(`supervisor: ${this.crashes.last}; restarting in ${delay} ms`);
    setTimeout(() => {
      if (!this.stopping && this.serving === t.gen) {
        this.fork(t.gen);
        this.persist();
      }
    }, delay);
    this.persist();
  }

  async shutdown(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.log(`supervisor: ${signal}: stopping ${this.tracked.size} worker(s)`);
    const exits = [...this.tracked.values()].map(
      (t) =>
        new Promise<void>((resolve) =>
          t.worker.isDead() ? resolve() : t.worker.once('exit', () => resolve()),
        ),
    );
    for (const t of this.tracked.values()) {
      if (t.worker.isDead()) continue;
      t.worker.process.kill('SIGTERM');
      setTimeout(() => {
        if (!t.worker.isDead()) t.worker.process.kill('SIGKILL');
      }, this.config.drainTimeoutSec * 1000).unref();
    }
    this.persist();
    await Promise.all(exits);
    this.serving = null;
    this.persist('stopped');
    await this.writeChain;
    await rm(this.paths.supervisorPid, { force: true });
    process.exit(0);
  }

  private snapshot(phase?: SupervisorState['phase']): SupervisorState {
    const workers: WorkerInfo[] = [];
    for (const t of this.tracked.values()) {
      if (t.state === 'discarded' || t.worker.process.pid === undefined) continue;
      workers.push({ pid: t.worker.process.pid, generation: t.gen.id, state: t.state });
    }
    const listening = workers.some((w) => w.state === 'listening' && w.generation === this.serving?.id);
    const computed: SupervisorState['phase'] = this.stopping
      ? 'stopping'
      : this.lastReload === null
        ? 'starting'
        : this.serving === null
          ? this.lastReload.ok
            ? 'idle'
            : 'failing'
          : listening
            ? 'serving'
            : 'failing';
    return {
      pid: process.pid,
      phase: phase ?? computed,
      generation: this.serving?.id ?? 0,
      version: this.serving?.version ?? null,
      releaseDir: this.serving?.releaseDir ?? null,
      workers,
      startedAt: this.startedAt,
      lastReload: this.lastReload,
      crashes: { ...this.crashes },
      updatedAt: new Date().toISOString(),
    };
  }

  /** Serialised writes: each writes the state as of its turn, so the file never goes back in time. */
  private persist(phase?: SupervisorState['phase']) {
    this.writeChain = this.writeChain
      .then(() => writeJsonAtomic(this.paths.supervisorState, this.snapshot(phase), { sync: false }))
      .catch((err: Error) => this.log(`supervisor: cannot write supervisor.json: ${err.message}`));
  }
}
