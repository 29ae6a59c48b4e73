// The service supervisor. It owns the public port (dispatch.ts) and runs the app as generations of workers.
// A SIGHUP re-resolves `current` and starts a new generation on the runtime that release pins; each new
// worker is proven healthy on a private port (worker.ts) BEFORE the generation receives a single user
// connection. Only then does the rotation switch to it, in one step, and the old generation drain, or
// wait out of rotation as the warm standby a rollback returns to without starting anything. A generation
// that fails its gate is killed and the old one keeps serving as if nothing had happened.
import { readFile, rm } from 'node:fs/promises';
import { writeFileAtomic, writeJsonAtomic } from '../host/fsutil';
import type { HostPaths } from '../host/paths';
import { sleep } from '../host/proc';
import { loadServiceConfig, type ServiceConfig } from './config';
import type { ReloadRequest } from './control';
import { Dispatcher } from './dispatch';
import { describeWorkers, type Generation, preloadPath, resolveGeneration } from './generation';
import { MaintenanceSwitch } from './maintenance';
import type { ServiceLog } from './service-log';
import { proveAgain, WarmStandby } from './standby';
import type { ReloadRecord, SupervisorState } from './supervisor-state';
import { Worker, WorkerFailed } from './worker';

export class Supervisor {
  private config: ServiceConfig;
  private readonly dispatcher: Dispatcher;
  private readonly preload = preloadPath();
  private serving: Generation | null = null;
  private starting: Generation | null = null;
  /** The generation a deploy replaced, kept up out of rotation so a rollback to it starts nothing. */
  private readonly standby = new WarmStandby((gen) => {
    this.log(
      `supervisor: retiring standby generation ${gen.id} (${gen.version}) after ${this.config.standbySec}s`,
    );
    this.retire(gen);
  });
  private readonly retiring = new Set<Worker>();
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
  private readonly log: (line: string) => void;
  private readonly maintenance: MaintenanceSwitch;

  constructor(
    private readonly paths: HostPaths,
    config: ServiceConfig,
    private readonly output: ServiceLog,
  ) {
    this.config = config;
    this.log = (line) => output.line(line);
    this.dispatcher = new Dispatcher(this.log);
    this.maintenance = new MaintenanceSwitch(paths, this.log);
  }

  async start(): Promise<void> {
    // Listening first: connections that arrive before the first generation is ready wait for it rather
    // than being refused. A port still held (by a supervisor that is just exiting, say) is retried for a
    // few seconds; after that it is fatal, and systemd restarts us with the reason in the journal.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.dispatcher.listen(this.config.host, this.config.port);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const where = `${this.config.host}:${this.config.port}`;
        if (code !== 'EADDRINUSE' || attempt >= 20)
          throw new Error(`cannot listen on ${where}: ${(err as Error).message}`);
        if (attempt === 1) this.log(`supervisor: ${where} is in use; retrying for 10 s`);
        await sleep(500);
      }
    }
    // Maintenance mode holds from the first worker on: a restart never lets users in by accident.
    await this.maintenance.load();
    // Before the pidfile: whoever finds this process by it may send SIGUSR2 at once.
    process.on('SIGUSR2', () =>
      this.maintenance.refresh(
        () => this.liveWorkers().map((w) => w.child),
        () => this.persist(),
      ),
    );
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
    let failure: ReloadRecord['failure'];
    let unchanged = false;
    try {
      this.config = await loadServiceConfig(this.paths.serviceConfig).catch((err: Error) => {
        this.log(`supervisor: keeping the previous service.json: ${err.message}`);
        return this.config;
      });
      this.output.configure?.({ maxBytes: this.config.logMaxBytes, files: this.config.logFiles });
      await this.dispatcher.listen(this.config.host, this.config.port);
      const gateSec = await this.takeGateTimeout();
      gen = await resolveGeneration(this.paths, this.config);
      if (gen === null) {
        this.log('supervisor: no `current` release; serving nothing until the next reload');
        this.dispatcher.setRotation([]);
        if (this.serving) this.retire(this.serving);
        this.serving = null;
      } else if (this.serving && this.serving.fingerprint === gen.fingerprint && this.dispatcher.size > 0) {
        // E.g. the switch back after a failed deploy: the old generation never stopped serving.
        unchanged = true;
        gen = this.serving;
        this.log(`supervisor: generation ${gen.id} (${gen.version}) already serves this release`);
      } else if (this.standby.generation?.fingerprint === gen.fingerprint && (await this.resume(gateSec))) {
        gen = this.serving as Generation;
      } else {
        gen.id = this.nextGen++;
        this.log(
          `supervisor: generation ${gen.id}: starting ${this.config.workers} worker(s) of ${gen.version} on node ${gen.runtimeVersion}`,
        );
        await this.launch(gen, gateSec);
        const old = this.serving;
        this.serving = gen;
        this.dispatcher.setRotation([...gen.workers]);
        this.retryDelayMs = 1000;
        this.crashes.consecutive = 0;
        if (old) await this.keepWarm(old);
        this.log(
          `supervisor: generation ${gen.id} (${gen.version}) serving${old ? `, retiring ${old.version}` : ''}`,
        );
      }
    } catch (err) {
      error = (err as Error).message;
      if (err instanceof WorkerFailed) {
        failure = { output: err.output, ...(err.probe ? { probe: err.probe } : {}) };
      }
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
      ...(unchanged ? { unchanged } : {}),
      ...(error !== undefined ? { error } : {}),
      ...(failure ? { failure } : {}),
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

  /** The agent's request for this reload (a deploy's --health-timeout), consumed once; else service.json's. */
  private async takeGateTimeout(): Promise<number> {
    try {
      const req = JSON.parse(await readFile(this.paths.reloadRequest, 'utf8')) as ReloadRequest;
      await rm(this.paths.reloadRequest, { force: true });
      if (Number.isSafeInteger(req.healthTimeoutSec) && req.healthTimeoutSec > 0) return req.healthTimeoutSec;
    } catch {
      // none, or unreadable: the configured timeout
    }
    return this.config.healthTimeoutSec;
  }

  private spawn(gen: Generation): Worker {
    const w = new Worker({
      exec: gen.exec,
      cwd: gen.releaseDir,
      node: gen.node,
      preload: this.preload,
      env: gen.env,
      publicPort: this.config.port,
      healthPath: this.config.healthPath,
      versionPath: this.config.versionPath,
      version: gen.version,
      output: (stream, pid) => this.output.writer(gen.version, pid, stream),
      maintenance: this.maintenance.forWorker,
    });
    gen.workers.add(w);
    w.child.once('exit', (code, signal) => this.onExit(gen, w, code, signal));
    return w;
  }

  /** Starts a whole generation and resolves once every worker passed the gate; otherwise kills them and throws. */
  private async launch(gen: Generation, gateSec: number): Promise<void> {
    this.starting = gen;
    const started = Array.from({ length: this.config.workers }, () => this.spawn(gen));
    this.persist();
    const deadline = Date.now() + gateSec * 1000;
    try {
      await Promise.all(
        started.map(async (w) => {
          await w.ready(this.config.startTimeoutSec * 1000, deadline);
          w.state = 'listening';
          this.persist();
        }),
      );
    } catch (err) {
      for (const w of started) {
        w.state = 'discarded';
        w.kill('SIGKILL');
      }
      throw err;
    } finally {
      this.starting = null;
    }
  }

  /** The replaced generation goes to standby (or is retired when standby is off or it has no live worker). */
  private async keepWarm(old: Generation): Promise<void> {
    const live = [...old.workers].filter((w) => w.state === 'listening' && !w.isDead());
    if (this.config.standbySec <= 0 || live.length === 0) {
      this.retire(old);
      return;
    }
    for (const w of live) {
      this.dispatcher.remove(w);
      w.state = 'standby';
    }
    const displaced = this.standby.keep(old, this.config.standbySec);
    if (displaced) this.retire(displaced);
    await Promise.all(live.map((w) => w.signal('standby')));
  }

  /**
   * A rollback to the standby generation: every worker must pass the gate again on its private port, then
   * the rotation moves back to it in one step. False (and the standby retired) when one does not.
   */
  private async resume(gateSec: number): Promise<boolean> {
    const gen = this.standby.take();
    if (!gen) return false;
    const workers = [...gen.workers].filter((w) => w.state === 'standby' && !w.isDead());
    const deadline = Date.now() + Math.min(gateSec, 5) * 1000;
    if (workers.length !== this.config.workers || !(await proveAgain(workers, deadline))) {
      this.log(`supervisor: standby generation ${gen.id} failed its gate; starting a new generation`);
      this.retire(gen);
      return false;
    }
    const old = this.serving;
    for (const w of workers) {
      // Not awaited: IPC keeps order, so the resume reaches the worker before any connection handed to it.
      void w.signal('resume');
      w.state = 'listening';
    }
    this.serving = gen;
    this.dispatcher.setRotation(workers);
    this.crashes.consecutive = 0;
    if (old) this.retire(old);
    this.log(
      `supervisor: generation ${gen.id} (${gen.version}) back from standby, serving${old ? `, retiring ${old.version}` : ''}`,
    );
    return true;
  }

  /** Old workers get SIGTERM (the app drains in-flight requests and exits), then SIGKILL after the drain time. */
  private retire(gen: Generation) {
    for (const w of gen.workers) {
      if (w.state === 'retiring' || w.state === 'discarded') continue;
      this.dispatcher.remove(w);
      w.state = 'retiring';
      this.retiring.add(w);
      w.kill('SIGTERM');
      const timer = setTimeout(() => w.kill('SIGKILL'), this.config.drainTimeoutSec * 1000);
      timer.unref();
    }
    this.persist();
  }

  private onExit(gen: Generation, w: Worker, code: number | null, signal: string | null) {
    gen.workers.delete(w);
    this.retiring.delete(w);
    this.dispatcher.remove(w);
    // A standby worker that died: the standby is no longer whole, so a rollback starts afresh.
    if (this.standby.generation === gen && w.state === 'standby') {
      this.standby.take();
      this.retire(gen);
    }
    if (w.state === 'retiring' || w.state === 'discarded' || this.stopping || gen !== this.serving) {
      this.persist();
      return;
    }
    // A serving worker died on its own: restart it in the same generation, backing off on a crash loop.
    // The replacement gets connections only once it passed the same gate as its generation did.
    const now = Date.now();
    if (this.crashes.lastAt && now - Date.parse(this.crashes.lastAt) > 60_000) this.crashes.consecutive = 0;
    this.crashes.total++;
    this.crashes.consecutive++;
    this.crashes.lastAt = new Date(now).toISOString();
    this.crashes.last = `worker ${w.pid} of ${gen.version} exited (${signal ?? `code ${code}`})`;
    const delay = Math.min(250 * 2 ** (this.crashes.consecutive - 1), 15_000);
    this.crashes.nextRestartMs = delay;
    this.log(`supervisor: ${this.crashes.last}; restarting in ${delay} ms`);
    setTimeout(() => this.replace(gen), delay);
    this.persist();
  }

  private replace(gen: Generation): void {
    if (this.stopping || this.serving !== gen) return;
    const w = this.spawn(gen);
    this.persist();
    w.ready(this.config.startTimeoutSec * 1000, Date.now() + this.config.healthTimeoutSec * 1000).then(
      () => {
        if (this.serving !== gen || w.isDead()) return;
        w.state = 'listening';
        this.dispatcher.add(w);
        this.persist();
      },
      (err: Error) => {
        this.log(`supervisor: replacement worker failed: ${err.message}`);
        // Counted as a crash by onExit once it is gone, which schedules the next try with backoff.
        w.kill('SIGKILL');
      },
    );
  }

  async shutdown(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.retryTimer);
    const all = [
      ...(this.serving?.workers ?? []),
      ...(this.starting?.workers ?? []),
      ...(this.standby.take()?.workers ?? []),
      ...this.retiring,
    ];
    this.log(`supervisor: ${signal}: stopping ${all.length} worker(s)`);
    const closing = this.dispatcher.close();
    const exits = all.map(
      (w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.child.once('exit', () => resolve()))),
    );
    for (const w of all) {
      w.kill('SIGTERM');
      setTimeout(() => w.kill('SIGKILL'), this.config.drainTimeoutSec * 1000).unref();
    }
    this.persist();
    await Promise.all(exits);
    await Promise.race([closing, new Promise((r) => setTimeout(r, 1000))]);
    this.serving = null;
    this.persist('stopped');
    await this.writeChain;
    await rm(this.paths.supervisorPid, { force: true });
    this.output.flush();
    process.exit(0);
  }

  /** Every worker still running: serving, starting or draining (maintenance mode reaches them all). */
  private liveWorkers(): Worker[] {
    const all = new Set([
      ...(this.serving?.workers ?? []),
      ...(this.starting?.workers ?? []),
      ...(this.standby.generation?.workers ?? []),
      ...this.retiring,
    ]);
    return [...all].filter((w) => !w.isDead() && w.state !== 'discarded');
  }

  private snapshot(phase?: SupervisorState['phase']): SupervisorState {
    const workers = describeWorkers([this.serving, this.starting, this.standby.generation], this.retiring);
    const listening = this.serving !== null && this.dispatcher.size > 0;
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
      runtime: this.serving ? { node: this.serving.runtimeVersion, path: this.serving.node } : null,
      standby: this.standby.generation
        ? {
            generation: this.standby.generation.id,
            version: this.standby.generation.version,
            until: new Date(this.standby.until ?? 0).toISOString(),
          }
        : null,
      supervisorNode: { node: process.versions.node, path: process.execPath },
      workers,
      startedAt: this.startedAt,
      lastReload: this.lastReload,
      crashes: { ...this.crashes },
      maintenance: this.maintenance.state,
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
