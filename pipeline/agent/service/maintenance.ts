// Maintenance mode: every request to the app is answered 503 (a JSON body, Retry-After) except the
// health and version paths, so load balancers keep the host and the gate keeps working, and the app keeps
// running. The switch is a file, .ferry/maintenance.json, so it survives a supervisor restart or a reboot:
// `agent maintenance` writes it and sends SIGUSR2; the supervisor reads it at start and on that signal.
//
// The 503 itself is answered inside each worker, by the preload (worker-preload.cjs), in front of the
// app's request handler. The supervisor only sees connections, and a connection handed to a worker
// before maintenance began (a load balancer's pooled keep-alive connection) would keep reaching the app;
// a request-level switch stops those too. Workers confirm each change, and the supervisor records it in
// supervisor.json, which is how the agent knows it took.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isErrno, writeJsonAtomic } from '../host/fsutil';
import type { HostPaths } from '../host/paths';
import { sendAwaitingAck } from './ipc-ack';

export interface MaintenanceFlag {
  on: boolean;
  /** Shown to users in the 503 body. */
  message: string;
  /** Retry-After, in seconds. */
  retryAfterSec: number;
  /** When this state was set, and by whom. */
  since: string;
  by: string;
  /** New for every change: the agent waits for the supervisor to report this id as applied. */
  id: string;
}

/** What supervisor.json records: the state the workers run with. Present only in supervisors that know it. */
export interface MaintenanceApplied {
  on: boolean;
  id: string | null;
  message?: string;
  retryAfterSec?: number;
  since?: string;
  by?: string;
  appliedAt: string;
  /** Workers that confirmed the change; pids of those that did not within WORKER_ACK_MS. */
  workers: number;
  missing: number[];
}

/** What a worker's preload needs: null when maintenance is off. */
export type WorkerMaintenance = { message: string; retryAfterSec: number } | null;

export const DEFAULT_MAINTENANCE_MESSAGE = 'This service is down for maintenance. Please try again later.';
export const DEFAULT_RETRY_AFTER_SEC = 300;
export const MAX_MESSAGE_LENGTH = 500;
const WORKER_ACK_MS = 3000;

export function newMaintenanceFlag(
  on: boolean,
  by: string,
  opts: { message?: string; retryAfterSec?: number } = {},
): MaintenanceFlag {
  return {
    on,
    message: opts.message ?? DEFAULT_MAINTENANCE_MESSAGE,
    retryAfterSec: opts.retryAfterSec ?? DEFAULT_RETRY_AFTER_SEC,
    since: new Date().toISOString(),
    by,
    id: randomBytes(8).toString('hex'),
  };
}

/**
 * The file's state; null when there is none. A damaged file reads as "on" with the defaults: failing
 * closed keeps users off an app the operator took down on purpose, and `agent maintenance off` rewrites it.
 */
export async function readMaintenanceFlag(paths: HostPaths): Promise<MaintenanceFlag | null> {
  let raw: Partial<MaintenanceFlag> | null = null;
  try {
    raw = JSON.parse(await readFile(paths.maintenance, 'utf8')) as Partial<MaintenanceFlag> | null;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    raw = null;
  }
  if (raw === null || typeof raw !== 'object')
    return { ...newMaintenanceFlag(true, 'unknown'), id: 'unreadable' };
  return {
    on: raw.on === true,
    message:
      typeof raw.message === 'string' && raw.message.length > 0 ? raw.message : DEFAULT_MAINTENANCE_MESSAGE,
    retryAfterSec:
      Number.isSafeInteger(raw.retryAfterSec) && (raw.retryAfterSec as number) > 0
        ? (raw.retryAfterSec as number)
        : DEFAULT_RETRY_AFTER_SEC,
    since: typeof raw.since === 'string' ? raw.since : '',
    by: typeof raw.by === 'string' ? raw.by : '',
    id: typeof raw.id === 'string' ? raw.id : '',
  };
}

export async function writeMaintenanceFlag(paths: HostPaths, flag: MaintenanceFlag): Promise<void> {
  await writeJsonAtomic(paths.maintenance, flag);
}

export function workerMaintenance(flag: MaintenanceFlag | null): WorkerMaintenance {
  return flag?.on ? { message: flag.message, retryAfterSec: flag.retryAfterSec } : null;
}

/** Sends a worker the state; true once it confirmed, false if it did not in time or is gone. */
export function tellWorker(child: ChildProcess, state: WorkerMaintenance, seq: number): Promise<boolean> {
  return sendAwaitingAck(
    child,
    { ferry: 'maintenance', state, seq },
    (m) => m.ferry === 'maintenance-applied' && m.seq === seq,
    WORKER_ACK_MS,
  );
}

/** The supervisor's side: the current state, applied to every live worker on each change, in order. */
export class MaintenanceSwitch {
  private flag: MaintenanceFlag | null = null;
  private seq = 0;
  private chain: Promise<void> = Promise.resolve();
  private applied: MaintenanceApplied = {
    on: false,
    id: null,
    appliedAt: new Date().toISOString(),
    workers: 0,
    missing: [],
  };

  constructor(
    private readonly paths: HostPaths,
    private readonly log: (line: string) => void,
  ) {}

  /** At start, before any worker exists: new workers get the state in their environment. */
  async load(): Promise<void> {
    this.flag = await readMaintenanceFlag(this.paths);
    this.applied = this.record(0, []);
    if (this.flag?.on)
      this.log(`supervisor: maintenance mode is on (since ${this.flag.since} by ${this.flag.by})`);
  }

  /** For a worker about to be forked. */
  get forWorker(): WorkerMaintenance {
    return workerMaintenance(this.flag);
  }

  get state(): MaintenanceApplied {
    return this.applied;
  }

  /** SIGUSR2: re-read the file and tell every live worker; `changed` runs once they confirmed. */
  refresh(workers: () => ChildProcess[], changed: () => void): void {
    this.chain = this.chain.then(async () => {
      this.flag = await readMaintenanceFlag(this.paths);
      const state = workerMaintenance(this.flag);
      const seq = ++this.seq;
      const targets = workers();
      const acks = await Promise.all(targets.map((c) => tellWorker(c, state, seq)));
      const missing = targets.filter((_, i) => !acks[i]).map((c) => c.pid ?? 0);
      this.applied = this.record(acks.filter(Boolean).length, missing);
      this.log(
        `supervisor: maintenance mode ${state ? 'on' : 'off'}${this.flag?.by ? ` (by ${this.flag.by})` : ''}; ${this.applied.workers} worker(s) confirmed${missing.length ? `, no answer from ${missing.join(', ')}` : ''}`,
      );
      changed();
    });
  }

  private record(workers: number, missing: number[]): MaintenanceApplied {
    const f = this.flag;
    return {
      on: f?.on === true,
      id: f?.id ?? null,
      ...(f ? { message: f.message, retryAfterSec: f.retryAfterSec, since: f.since, by: f.by } : {}),
      appliedAt: new Date().toISOString(),
      workers,
      missing,
    };
  }
}

/** For `agent status`: what the file says, and whether the running supervisor's workers have it. */
export function maintenanceStatus(
  flag: MaintenanceFlag | null,
  applied: MaintenanceApplied | undefined,
  running: boolean,
): {
  on: boolean;
  message?: string;
  retryAfterSec?: number;
  since?: string;
  by?: string;
  /** false: the service is not running, or its supervisor predates maintenance mode, or has not caught up. */
  applied: boolean;
} {
  const on = flag?.on === true;
  return {
    on,
    ...(flag?.on ? { message: flag.message, retryAfterSec: flag.retryAfterSec } : {}),
    ...(flag ? { since: flag.since, by: flag.by } : {}),
    applied:
      running && applied !== undefined && applied.on === on && (flag === null || applied.id === flag.id),
  };
}
