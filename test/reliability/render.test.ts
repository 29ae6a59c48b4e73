// The report page is generated, so its renderer is checked like any other code: sections in order, cells
// escaped, failures visible.
import { describe, expect, it } from 'vitest';
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
