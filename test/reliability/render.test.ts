// The report page is generated, so its renderer is checked like any other code: sections in order, cells
// escaped, failures visible. So is the drift check that keeps the committed page honest.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../fixtures/agent-host';
import { compareRows, describeDrift, pageRows, recordedRows } from './support/drift';
import type { CaseRecord } from './support/record';
import { type RunInfo, renderReport } from './support/render';

const run: RunInfo = {
  date: '2026-01-01T00:00:00Z',
  machine: 'linux/x64, 2 CPUs (test), root',
  node: 'v20.0.0',
  command: 'npx tsx scripts/reliability-report.ts',
  durationSec: 42,
  vitest: { total: 3, passed: 2, failed: 1, skipped: 0 },
  failedTests: [{ name: 'test/reliability/x.test.ts › a', error: 'expected 1 to be 2' }],
};

describe('renderReport', () => {
  it('writes one table per section with escaped cells and visible failures', () => {
    const md = renderReport(
      [
        { suite: 'tampered', case: 'a | pipe', proves: 'p', result: 'pass', detail: 'line\nbreak' },
        {
          suite: 'crash-matrix',
          case: 'deploy killed at verify',
          proves: 'q',
          result: 'fail',
          detail: 'boom',
        },
      ],
      run,
    );
    expect(md.indexOf('## The agent killed at every step')).toBeLessThan(md.indexOf('## Tampered releases'));
    expect(md).toContain('| a \\| pipe | p | pass | line break |');
    expect(md).toContain('| deploy killed at verify | q | **FAIL** | boom |');
    expect(md).toContain('**Cases:** 2 recorded, 1 pass, 1 fail');
    expect(md).toMatch(/## Disk full\n\n.*\n\n_No case recorded in this run._/);
    expect(md).toContain('| test/reliability/x.test.ts › a | expected 1 to be 2 |');
  });
});

describe('the drift check', () => {
  const rec = (over: Partial<CaseRecord>): CaseRecord => ({
    suite: 'tampered',
    case: 'a flipped bit',
    proves: 'hashed and compared',
    result: 'pass',
    detail: 'exit 5; got 1428 bytes, sha256 ddfc31e57962…',
    ...over,
  });

  it('reads the case rows back from a rendered page, escapes and sections included', () => {
    const records = [
      rec({ case: 'a | pipe', detail: 'x \\| y' }),
      rec({ suite: 'crash-matrix', case: 'deploy killed at verify' }),
    ];
    expect(pageRows(renderReport(records, run))).toEqual([
      {
        section: 'The agent killed at every step',
        case: 'deploy killed at verify',
        proves: 'hashed and compared',
        result: 'pass',
        detail: 'exit 5; got 1428 bytes, sha256 ddfc31e57962…',
      },
      {
        section: 'Tampered releases',
        case: 'a \\| pipe',
        proves: 'hashed and compared',
        result: 'pass',
        detail: 'x \\\\| y',
      },
    ]);
  });

  it('shows, and so checks, rows of a suite render.ts has no section for', () => {
    const other = rec({ suite: 'service-oss' as CaseRecord['suite'], case: 'an OSS case' });
    const md = renderReport([other], run);
    expect(md).toContain('## Suite `service-oss`');
    expect(recordedRows([other])).toEqual([
      expect.objectContaining({ section: 'Suite `service-oss`', case: 'an OSS case' }),
    ]);
  });

  it('ignores times, dates, durations, sizes, ports, random keys and the order rows finished in', () => {
    const page = pageRows(
      renderReport(
        [
          rec({
            detail:
              'exit 5; got 1428 bytes, sha256 ddfc31e57962…, key d533b8bafe9e9832 at 2026-11-30T03:26:24Z in 1.5 s',
          }),
          rec({ case: 'second', detail: 'connect ECONNREFUSED 127.0.0.1:33115 after 250 ms' }),
        ],
        run,
      ),
    );
    const now = recordedRows([
      rec({ case: 'second', detail: 'connect ECONNREFUSED 127.0.0.1:41007 after 1200 ms' }),
      rec({
        detail:
          'exit 5; got 1431 bytes, sha256 0badc0ffee12…, key 9854c38f8c85601a at 2026-12-06T10:00:00Z in 2 s',
      }),
    ]);
    expect(compareRows(page, now)).toEqual({ stale: [], missing: [] });
    expect(describeDrift(compareRows(page, now), 'docs/reliability.md')).toBe('');
  });

  it('catches a changed claim, result or observation, a lost row and a new one', () => {
    const page = recordedRows([
      rec({}),
      rec({ case: 'kept' }),
      rec({ case: 'gone' }),
      rec({ case: 'observed', detail: 'exit 5' }),
    ]);
    const now = recordedRows([
      rec({ proves: 'something else' }),
      rec({ case: 'kept' }),
      rec({ case: 'observed', detail: 'exit 1' }),
      rec({ case: 'new', result: 'fail' }),
    ]);
    const d = compareRows(page, now);
    expect(d.stale.map((r) => r.case)).toEqual(['a flipped bit', 'gone', 'observed']);
    expect(d.missing.map((r) => r.case)).toEqual(['a flipped bit', 'observed', 'new']);
    expect(d.missing.find((r) => r.case === 'new')?.result).toBe('**FAIL**');
    const message = describeDrift(d, 'docs/reliability.md');
    expect(message).toMatch(/^docs\/reliability\.md no longer shows what the reliability suite proves/);
    expect(message).toContain('  [Tampered releases] gone | hashed and compared | pass |');
    expect(message.split('\n').at(-1)).toBe(
      'regenerate it with the change that alters it: npx tsx scripts/reliability-report.ts',
    );
  });

  it('counts a row twice when it appears twice', () => {
    const one = recordedRows([rec({})]);
    const two = recordedRows([rec({}), rec({})]);
    expect(compareRows(one, two).missing).toHaveLength(1);
    expect(compareRows(two, one).stale).toHaveLength(1);
  });

  it('reads the committed page: every row a pass', async () => {
    const rows = pageRows(await readFile(join(REPO, 'docs', 'reliability.md'), 'utf8'));
    expect(rows.length).toBeGreaterThan(50);
    expect(rows.filter((r) => r.result !== 'pass')).toEqual([]);
  });
});
