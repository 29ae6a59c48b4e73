// Runs the selected parts one after another, each with its own temp folder and cleanup, prints a table
// per part on stdout (progress goes to stderr) and merges the numbers into bench/results.json.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchUsageError, parseBenchArgs } from './lib/options';
import { type BenchContext, type Part, withDeadline } from './lib/part';
import { stopAll } from './lib/procs';
import { machineInfo, mergeResults, type PartRecord, readResults, writeResults } from './lib/results';
import { formatTable } from './lib/table';

const PARTS: { name: string; load: () => Promise<{ part: Part }> }[] = [
  { name: 'service', load: () => import('./parts/service') },
  { name: 'big-user', load: () => import('./parts/big-user') },
  { name: 'upload', load: () => import('./parts/upload-memory') },
  { name: 'registry', load: () => import('./parts/registry') },
  { name: 'fleet', load: () => import('./parts/fleet') },
  { name: 'rollback', load: () => import('./parts/rollback') },
  { name: 'bare-host', load: () => import('./parts/bare-host') },
  { name: 'downtime', load: () => import('./parts/downtime') },
  { name: 'publish', load: () => import('./parts/publish') },
  { name: 'artifact', load: () => import('./parts/artifact') },
  { name: 'runtime', load: () => import('./parts/runtime') },
  { name: 'cli', load: () => import('./parts/cli') },
];
export const PART_NAMES = PARTS.map((p) => p.name);
export const RESULTS_FILE = join(import.meta.dirname, 'results.json');
// A safety net, not a target: parts aim for well under 2 minutes.
const PART_DEADLINE_MS = 8 * 60_000;

const log = (message: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

export async function runBench(argv: readonly string[]): Promise<number> {
  let opts: ReturnType<typeof parseBenchArgs>;
  try {
    opts = parseBenchArgs(argv, PART_NAMES);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return 2;
  }
  if (opts.list) {
    for (const p of PARTS) process.stdout.write(`${p.name.padEnd(10)} ${(await p.load()).part.title}\n`);
    return 0;
  }

  const runTmp = await mkdtemp(join(tmpdir(), 'ferry-bench-'));
  const shared = new Map<string, Promise<unknown>>();
  let interrupted = false;
  let deferred: (() => Promise<unknown> | unknown)[] = [];
  const runDeferred = async (name: string) => {
    const fns = deferred.reverse();
    deferred = [];
    for (const fn of fns) {
      try {
        await fn();
      } catch (err) {
        log(`${name}: cleanup failed: ${(err as Error).message}`);
      }
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping every process the bench started`);
    void runDeferred('interrupted')
      .then(() => stopAll())
      .then(() => rm(runTmp, { recursive: true, force: true }))
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const machine = machineInfo();
  log(
    `machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memTotal}, node ${machine.node}, load ${machine.loadavg.join(' ')}`,
  );
  const records: Record<string, PartRecord> = {};
  let failures = 0;
  const started = performance.now();
  try {
    for (const name of opts.parts) {
      const { part } = await PARTS.find((p) => p.name === name)!.load();
      const tmp = await mkdtemp(join(runTmp, `${name}-`));
      const ctx: BenchContext = {
        quick: opts.quick,
        tmp,
        runTmp,
        log: (m) => log(`${name}: ${m}`),
        defer: (fn) => deferred.push(fn),
        shared: <T>(key: string, make: () => Promise<T>) => {
          if (!shared.has(key)) shared.set(key, make());
          return shared.get(key) as Promise<T>;
        },
      };
      log(`── ${name}: ${part.title}${opts.quick ? ' (quick)' : ''}`);
      const t0 = performance.now();
      const partMachine = machineInfo();
      let record: PartRecord;
      try {
        const result = await withDeadline(name, PART_DEADLINE_MS, () => part.run(ctx));
        record = {
          title: part.title,
          measuredAt: new Date().toISOString(),
          quick: opts.quick,
          durationSec: 0,
          ok: true,
          ...(result.skipped ? { skipped: result.skipped } : {}),
          tables: result.tables,
          data: result.data,
          machine: partMachine,
        };
        if (result.skipped) process.stdout.write(`\n### ${part.title}\n\nskipped: ${result.skipped}\n`);
        for (const t of result.tables) process.stdout.write(`\n${formatTable(t)}`);
      } catch (err) {
        failures++;
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        log(`${name} FAILED: ${message}`);
        record = {
          title: part.title,
          measuredAt: new Date().toISOString(),
          quick: opts.quick,
          durationSec: 0,
          ok: false,
          error: err instanceof Error ? err.message : String(err),
          tables: [],
          data: null,
          machine: partMachine,
        };
      } finally {
        await runDeferred(name);
        await stopAll();
        await rm(tmp, { recursive: true, force: true, maxRetries: 3 });
      }
      record.durationSec = Math.round((performance.now() - t0) / 100) / 10;
      log(`${name} took ${record.durationSec} s`);
      records[name] = record;
    }
  } finally {
    await stopAll();
    await rm(runTmp, { recursive: true, force: true, maxRetries: 3 });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const merged = mergeResults(await readResults(RESULTS_FILE), machine, new Date(), records);
  await writeResults(RESULTS_FILE, merged);
  const total = Math.round((performance.now() - started) / 1000);
  log(`done in ${total} s; ${RESULTS_FILE} updated${failures ? `; ${failures} part(s) FAILED` : ''}`);
  return failures ? 1 : 0;
}
