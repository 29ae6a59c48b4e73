// supervisor.json: what the supervisor is serving, rewritten (temp + rename) after every change. The
// agent reads it to tell whether a reload took, `status` shows it, and a crash loop is visible in it.
import { readFile } from 'node:fs/promises';
import type { HostPaths } from '../host/paths';
import { isProcessAlive, processCommandLine } from '../host/proc';
import type { MaintenanceApplied } from './maintenance';

export type SupervisorPhase = 'starting' | 'serving' | 'idle' | 'failing' | 'stopping' | 'stopped';

export interface WorkerInfo {
  pid: number;
  generation: number;
  /**
   * starting: not yet through the health gate; listening: receiving user connections; standby: the
   * previous generation, up but out of rotation, for an instant rollback; retiring: draining.
   */
  state: 'starting' | 'listening' | 'standby' | 'retiring';
  /** The loopback port the worker really listens on; the supervisor hands it connections from the public one. */
  privatePort?: number;
}

export interface ReloadRecord {
  ok: boolean;
  /** start: the supervisor's first load; hup: SIGHUP; retry: nothing was serving, trying again. */
  reason: 'start' | 'hup' | 'retry';
  /** ms since epoch; an attempt that started after a SIGHUP was sent resolved `current` after it. */
  startedAtMs: number;
  finishedAtMs: number;
  at: string;
  generation: number;
  version: string | null;
  /** The release, runtime and environment were those already serving: nothing was restarted. */
  unchanged?: boolean;
  error?: string;
  /** Why the new generation was refused: its workers' last output lines and the failing health answer. */
  failure?: {
    output: string[];
    probe?: { ok: boolean; status?: number; version?: string | null; body?: string; error?: string };
  };
}

export interface SupervisorState {
  pid: number;
  phase: SupervisorPhase;
  /** The generation serving requests (0: none yet). */
  generation: number;
  version: string | null;
  releaseDir: string | null;
  /** The Node runtime the serving generation runs on (its release's pin, or the supervisor's own). */
  runtime: { node: string; path: string } | null;
  /** The generation kept warm for a rollback, and when it will be retired. */
  standby: { generation: number; version: string; until: string } | null;
  /** The Node the supervisor itself runs on (the agent's runtime when it started): version and binary. */
  supervisorNode: { node: string; path: string };
  workers: WorkerInfo[];
  startedAt: string;
  lastReload: ReloadRecord | null;
  crashes: {
    total: number;
    consecutive: number;
    lastAt: string | null;
    last: string | null;
    nextRestartMs: number;
  };
  /** Maintenance mode as the workers run it. Absent: a supervisor from before maintenance mode existed. */
  maintenance?: MaintenanceApplied;
  updatedAt: string;
}

export async function readSupervisorState(paths: HostPaths): Promise<SupervisorState | null> {
  try {
    return JSON.parse(await readFile(paths.supervisorState, 'utf8')) as SupervisorState;
  } catch {
    return null;
  }
}

export async function readSupervisorPid(paths: HostPaths): Promise<number | null> {
  try {
    const pid = Number((await readFile(paths.supervisorPid, 'utf8')).trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The pidfile's process is alive and (where /proc says) really is a supervisor, not a reused pid. */
export async function runningSupervisor(paths: HostPaths): Promise<number | null> {
  const pid = await readSupervisorPid(paths);
  if (pid === null || !isProcessAlive(pid)) return null;
  const cmd = processCommandLine(pid);
  if (cmd !== null && !cmd.includes('supervise')) return null;
  return pid;
}
