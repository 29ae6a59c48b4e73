// The service part's pure pieces: the dd command lines, per-process CPU from /proc, the goal verdict and
// the supervised host's files. Exact, so a change to what the benchmark runs shows up here.
import { describe, expect, it } from 'vitest';
import { parsePidStat } from '../../bench/lib/cpu';
import { ddArgs, ddSyncedBlocksArgs } from '../../bench/lib/dd';
import { hostFiles } from '../../bench/lib/supervised';
import type { WrkResult } from '../../bench/lib/wrk';
import { goalMet, SCENARIOS } from '../../bench/parts/service';

const wrk = (rps: number, p99Ms: number): WrkResult => ({
  requests: rps,
  durationUs: 1e6,
  bytes: 0,
  errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
  latencyUs: { p50: 0, p90: 0, p99: p99Ms * 1000, max: 0, mean: 0 },
  rps,
  failed: 0,
});

describe('dd command lines', () => {
  it('writes one block of the upload size into a new file and fsyncs it', () => {
    expect(ddArgs('/t/src.bin', '/t/dd/dd-3-1', 1048576)).toEqual([
      'if=/t/src.bin',
      'of=/t/dd/dd-3-1',
      'bs=1048576',
      'count=1',
      'conv=fsync',
      'status=none',
    ]);
  });

  it('writes synced blocks into one file', () => {
    expect(ddSyncedBlocksArgs('/t/dd/x', 1048576, 64)).toEqual([
      'if=/dev/zero',
      'of=/t/dd/x',
      'bs=1048576',
      'count=64',
      'oflag=dsync',
      'status=none',
    ]);
  });
});

describe('parsePidStat', () => {
  it('adds user and system time, counting fields after the last ")" of the name', () => {
    const fields = ['S', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '250', '75', '0', '0'];
    expect(parsePidStat(`123 (node) ${fields.join(' ')}`)).toBe(3.25);
    expect(parsePidStat(`123 (we(ird) na)me) ${fields.join(' ')}`)).toBe(3.25);
  });
});

describe('goalMet', () => {
  it('needs both: at least 5x the requests/s and a lower p99', () => {
    expect(goalMet(wrk(5000, 4), wrk(1000, 10))).toBe('yes');
    expect(goalMet(wrk(4999, 4), wrk(1000, 10))).toBe('no');
    expect(goalMet(wrk(9000, 10), wrk(1000, 10))).toBe('no');
    expect(goalMet(undefined, wrk(1000, 10))).toBe('–');
  });

  it('uses the connection counts the issue measured with', () => {
    expect(Object.fromEntries(Object.entries(SCENARIOS).map(([k, v]) => [k, v.connections]))).toEqual({
      metadata: 50,
      download: 50,
      list: 10,
      upload: 10,
      connect: 10,
    });
  });
});

describe('hostFiles', () => {
  it('puts the environment in service.json and the secret only in shared/.env', () => {
    const files = hostFiles({
      port: 4100,
      workers: 2,
      env: { STORAGE_DIR: '/s', LOG_LEVEL: 'warn' },
      secrets: { AUTH_SECRET: 'sekrit' },
    });
    expect(Object.keys(files).sort()).toEqual(['.ferry/service.json', 'shared/.env']);
    expect(files['shared/.env']).toBe('AUTH_SECRET=sekrit\n');
    const service = JSON.parse(files['.ferry/service.json']!);
    expect(service).toMatchObject({
      app: 'ferry-storage',
      port: 4100,
      workers: 2,
      env: { STORAGE_DIR: '/s', LOG_LEVEL: 'warn' },
      standbySec: 0,
      nodePath: process.execPath,
    });
    expect(files['.ferry/service.json']).not.toContain('sekrit');
  });
});
