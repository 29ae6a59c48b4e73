// wrk as the load generator: a builder for its command line and a parser for the JSON line our Lua
// script prints (bench/wrk/api.lua), both pure, and a runner.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';

export const WRK = '/usr/bin/wrk';
const SCRIPT = join(import.meta.dirname, '..', 'wrk', 'api.lua');

export interface WrkRun {
  url: string;
  threads: number;
  connections: number;
  durationSec: number;
  /** Per-request timeout, seconds; a slower response counts as a timeout error. */
  timeoutSec?: number;
}

export interface WrkResult {
  requests: number;
  durationUs: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Derived: requests per second. */
  rps: number;
  /** Derived: every failed request (socket errors, timeouts and status ≥ 400). */
  failed: number;
}

export function wrkArgs(run: WrkRun): string[] {
  return [
    '-t',
    String(run.threads),
    '-c',
    String(run.connections),
    '-d',
    `${run.durationSec}s`,
    '--timeout',
    `${run.timeoutSec ?? 10}s`,
    '-s',
    SCRIPT,
    run.url,
  ];
}

export function parseWrkOutput(stdout: string): WrkResult {
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk printed no BENCH_JSON line:\n${stdout.slice(-1500)}`);
  const raw = JSON.parse(line.slice('BENCH_JSON '.length)) as Omit<WrkResult, 'rps' | 'failed'>;
  const e = raw.errors;
  return {
    ...raw,
    rps: raw.durationUs > 0 ? raw.requests / (raw.durationUs / 1e6) : 0,
    failed: e.connect + e.read + e.write + e.status + e.timeout,
  };
}

export interface WrkLoad {
  token: string;
  paths: readonly string[];
  uploadBytes?: number;
  /** A new connection for every request (Connection: close). */
  closeConnections?: boolean;
  /** Where the paths file is written. */
  workDir: string;
}

export async function runWrk(run: WrkRun, load: WrkLoad): Promise<WrkResult> {
  const pathsFile = join(load.workDir, `paths-${process.hrtime.bigint()}.txt`);
  await writeFile(pathsFile, `${load.paths.join('\n')}\n`);
  const env = {
    ...process.env,
    BENCH_TOKEN: load.token,
    BENCH_PATHS: pathsFile,
    BENCH_UPLOAD_BYTES: String(load.uploadBytes ?? 0),
    BENCH_CLOSE: load.closeConnections ? '1' : '0',
  };
  const out = await $({ env, quiet: true, timeout: `${run.durationSec + 30}s` })`${WRK} ${wrkArgs(run)}`;
  return parseWrkOutput(out.stdout);
}
