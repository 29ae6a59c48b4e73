// docs/reliability.md is generated from a run of the reliability suite, and CI checks it did not drift.
//
//   npx tsx scripts/reliability-report.ts             run test/reliability, rewrite docs/reliability.md
//   npx tsx scripts/reliability-report.ts --check     run test/reliability, compare its rows with the page
//   npx tsx scripts/reliability-report.ts --check --records FILE
//                                                     compare the rows an earlier run recorded in FILE
//
// Regenerate the page (the first form) in the same change as anything that alters a row: a new or renamed
// case, a changed claim, a changed observation. Each case in test/reliability appends {suite, case,
// proves, result, detail} to FERRY_RELIABILITY_LOG; vitest's JSON report adds the totals and any test
// that failed before it could record itself. The page is written even when cases fail (they show as
// FAIL), and the exit code is then non-zero.
//
// The check (test/reliability/support/drift.ts) compares the case rows only, with times, dates,
// durations, byte sizes, ports and random keys masked, as a multiset. CI runs `npm test` with
// FERRY_RELIABILITY_LOG set and then the --records form (.ci/run), so the suite runs once; it exits 1 and
// lists the rows that differ. Rows come from CI's conditions (root, a mountable tmpfs): on a machine
// without them the disk-full rows differ by design.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compareRows, describeDrift, pageRows, recordedRows } from '../test/reliability/support/drift';
import type { CaseRecord } from '../test/reliability/support/record';
import { RELIABILITY_LOG_ENV } from '../test/reliability/support/record';
import { type RunInfo, renderReport } from '../test/reliability/support/render';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

interface VitestJson {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: {
    name: string;
    message?: string;
    assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
  }[];
}

function runVitest(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [VITEST, ...args], { cwd: ROOT, env, stdio: 'inherit' });
    child.on('error', rej);
    child.on('close', (code) => res(code ?? 1));
  });
}

const firstLine = (s: string) => (s.split('\n').find((l) => l.trim()) ?? '').slice(0, 200);

const PAGE = join(ROOT, 'docs', 'reliability.md');

const readRecords = async (file: string) =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as CaseRecord);

/** Compares the rows `records` prove with the page's; prints what drifted. */
async function check(records: CaseRecord[]): Promise<number> {
  const drift = compareRows(pageRows(await readFile(PAGE, 'utf8')), recordedRows(records));
  const message = describeDrift(drift, 'docs/reliability.md');
  if (message) {
    process.stderr.write(`${message}\n`);
    return 1;
  }
  process.stdout.write(`docs/reliability.md matches the ${records.length} cases this run recorded\n`);
  return 0;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { check: { type: 'boolean' }, records: { type: 'string' } },
    strict: true,
  });
  if (values.records !== undefined) {
    if (!values.check) throw new Error('--records goes with --check');
    return check(await readRecords(values.records));
  }
  const work = await mkdtemp(join(tmpdir(), 'ferry-reliability-report-'));
  try {
    const log = join(work, 'cases.jsonl');
    const json = join(work, 'vitest.json');
    await writeFile(log, '');
    const args = [
      'run',
      'test/reliability',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${json}`,
    ];
    const started = Date.now();
    const code = await runVitest(args, { ...process.env, [RELIABILITY_LOG_ENV]: log });
    const durationSec = Math.round((Date.now() - started) / 1000);

    const records = await readRecords(log);
    if (values.check) {
      const drifted = await check(records);
      return code === 0 ? drifted : 1;
    }
    const summary = JSON.parse(await readFile(json, 'utf8').catch(() => 'null')) as VitestJson | null;
    const failedTests: RunInfo['failedTests'] = [];
    for (const file of summary?.testResults ?? []) {
      const rel = file.name.replace(`${ROOT}/`, '');
      if (file.assertionResults.length === 0 && file.message)
        failedTests.push({ name: rel, error: firstLine(file.message) });
      for (const t of file.assertionResults) {
        if (t.status === 'failed')
          failedTests.push({ name: `${rel} › ${t.fullName}`, error: firstLine(t.failureMessages[0] ?? '') });
      }
    }
    const cpu = cpus();
    const run: RunInfo = {
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      machine: `${process.platform}/${process.arch}, ${cpu.length} CPU${cpu.length === 1 ? '' : 's'} (${cpu[0]?.model.trim() ?? '?'}), ${process.getuid?.() === 0 ? 'root' : 'non-root'}`,
      node: process.version,
      command: 'npx tsx scripts/reliability-report.ts',
      durationSec,
      vitest: {
        total: summary?.numTotalTests ?? 0,
        passed: summary?.numPassedTests ?? 0,
        failed: summary?.numFailedTests ?? 0,
        skipped: summary?.numPendingTests ?? 0,
      },
      failedTests,
    };
    await writeFile(PAGE, renderReport(records, run));
    const failed = records.filter((r) => r.result === 'fail').length;
    process.stdout.write(
      `\nwrote ${PAGE}: ${records.length} cases, ${failed} failed (vitest exit ${code}, ${durationSec} s)\n`,
    );
    return code === 0 && failed === 0 ? 0 : 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
