// The bench's parsers and command-line builders: pure functions, so pinned exactly.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuUse, parseProcStat } from '../../bench/lib/cpu';
import { dependencyClosure, packageFiles } from '../../bench/lib/deps';
import { BenchUsageError, parseBenchArgs } from '../../bench/lib/options';
import { parseProcStatus } from '../../bench/lib/procs';
import { type Machine, mergeResults, type PartRecord } from '../../bench/lib/results';
import { parseMaxRss } from '../../bench/lib/time-v';
import { parseWrkOutput, wrkArgs } from '../../bench/lib/wrk';

const PARTS = ['service', 'upload', 'registry', 'fleet'];

describe('parseBenchArgs', () => {
  it('runs every part by default, in table order', () => {
    expect(parseBenchArgs([], PARTS)).toEqual({ parts: PARTS, quick: false, list: false });
  });

  it('selects parts with --only, in table order whatever the order given', () => {
    expect(parseBenchArgs(['--only', 'fleet,service', '--quick'], PARTS)).toEqual({
      parts: ['service', 'fleet'],
      quick: true,
      list: false,
    });
    expect(parseBenchArgs(['--only=upload', '--only', 'registry'], PARTS).parts).toEqual([
      'upload',
      'registry',
    ]);
  });

  it('refuses unknown parts and options, naming what exists', () => {
    expect(() => parseBenchArgs(['--only', 'servce'], PARTS)).toThrow(
      new BenchUsageError('unknown part servce; parts: service, upload, registry, fleet'),
    );
    expect(() => parseBenchArgs(['--fast'], PARTS)).toThrow(/unknown option --fast/);
    expect(() => parseBenchArgs(['--only'], PARTS)).toThrow(/--only needs a list/);
  });
});

describe('wrk', () => {
  it('builds the command line around the Lua script', () => {
    const argv = wrkArgs({ url: 'http://127.0.0.1:8080', threads: 1, connections: 32, durationSec: 6 });
    expect(argv.slice(0, 8)).toEqual(['-t', '1', '-c', '32', '-d', '6s', '--timeout', '10s']);
    expect(argv[8]).toBe('-s');
    expect(argv[9]).toMatch(/bench\/wrk\/api\.lua$/);
    expect(argv[10]).toBe('http://127.0.0.1:8080');
  });

  it('parses the JSON line of the Lua done() hook and derives rate and failures', () => {
    const stdout = `Running 6s test @ http://127.0.0.1:8080
  1 threads and 32 connections
Requests/sec:  2000.00
BENCH_JSON {"requests":12000,"durationUs":6000000,"bytes":999,"errors":{"connect":1,"read":2,"write":0,"status":3,"timeout":4},"latencyUs":{"p50":900,"p90":2000,"p99":5000,"max":9000,"mean":1000.5}}
`;
    const r = parseWrkOutput(stdout);
    expect(r.rps).toBe(2000);
    expect(r.failed).toBe(10);
    expect(r.latencyUs.p99).toBe(5000);
    expect(() => parseWrkOutput('Requests/sec: 1\n')).toThrow(/no BENCH_JSON line/);
  });
});

describe('memory readings', () => {
  it('reads VmHWM and VmRSS from /proc/<pid>/status in bytes', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   40960 kB\n';
    expect(parseProcStatus(status)).toEqual({ peakRss: 81920 * 1024, rss: 40960 * 1024 });
  });

  it('reads busy and total jiffies from /proc/stat, idle and iowait not busy', () => {
    const a = parseProcStat('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n');
    expect(a).toEqual({ busy: 150, total: 1000 });
    const b = parseProcStat('cpu  200 0 100 900 100 0 0 0 0 0\n');
    // 150 more busy jiffies out of 300 more in all.
    expect(cpuUse(a, b, 1000).busyFraction).toBeCloseTo(0.5);
    expect(() => parseProcStat('intr 1 2\n')).toThrow(/no aggregate cpu line/);
  });

  it('reads GNU time -v peak memory', () => {
    expect(parseMaxRss('\tMaximum resident set size (kbytes): 51234\n')).toBe(51234 * 1024);
    expect(parseMaxRss('nothing')).toBeNull();
  });
});

describe('mergeResults', () => {
  const machine = { cpus: 2 } as Machine;
  const record = (title: string) => ({ title }) as PartRecord;

  it('replaces the parts measured now and keeps the others with their own dates', () => {
    const previous = mergeResults(null, machine, new Date('2026-01-01T00:00:00Z'), {
      service: record('old service'),
      fleet: record('old fleet'),
    });
    const merged = mergeResults(previous, machine, new Date('2026-02-01T00:00:00Z'), {
      service: record('new'),
    });
    expect(merged.updatedAt).toBe('2026-02-01T00:00:00.000Z');
    expect(merged.parts.service?.title).toBe('new');
    expect(merged.parts.fleet?.title).toBe('old fleet');
  });
});

describe('dependencyClosure', () => {
  let root: string;
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('follows dependencies the way Node resolves them, nested copies included, each once', async () => {
    root = await mkdtemp(join(tmpdir(), 'ferry-bench-deps-'));
    const pkg = async (dir: string, deps: Record<string, string> = {}, extra: object = {}) => {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'package.json'), JSON.stringify({ dependencies: deps, ...extra }));
      await writeFile(join(dir, 'index.js'), 'x'.repeat(10));
    };
    const nm = join(root, 'node_modules');
    await pkg(join(nm, 'a'), { b: '1', c: '1' });
    await pkg(join(nm, 'b'), { c: '2' });
    await pkg(join(nm, 'b', 'node_modules', 'c')); // b's own copy of c
    await pkg(join(nm, 'c'), {}, { optionalDependencies: { missing: '1' } });
    await pkg(join(nm, 'unrelated'));
    expect(dependencyClosure(['a'], root)).toEqual(
      [join(nm, 'a'), join(nm, 'b'), join(nm, 'b', 'node_modules', 'c'), join(nm, 'c')].sort(),
    );
    // b's files, without the package nested in it.
    expect(
      packageFiles(join(nm, 'b'))
        .map((f) => f.path)
        .sort(),
    ).toEqual([join(nm, 'b', 'index.js'), join(nm, 'b', 'package.json')].sort());
    expect(() => dependencyClosure(['nope'], root)).toThrow(/nope is not installed/);
  });
});
