// `npm test`: the whole vitest suite, then, in CI, the check that docs/reliability.md shows exactly the rows
// test/reliability just proved (scripts/reliability-report.ts --check), so the page can never drift from
// the code. One run of the suite does both: each reliability case appends its row to a temp file.
// `npm test -- <filters>` runs what the filters pick and skips the page check (a partial run proves only
// part of the page). Outside CI the check is skipped too: its rows assume CI's conditions (root, a
// mountable tmpfs); `npm run reliability:check` runs it by hand.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const ci = (process.env.CI ?? '') !== '' && !['false', '0'].includes(process.env.CI ?? '');
const filtered = args.some((a) => !a.startsWith('-'));
const dir = mkdtempSync(join(tmpdir(), 'ferry-test-'));
const records = join(dir, 'reliability.jsonl');
const node = (argv, env = {}) =>
  spawnSync(process.execPath, argv, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })
    .status ?? 1;

let code = 1;
try {
  code = node([join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...args], {
    FERRY_RELIABILITY_LOG: records,
  });
  if (code === 0 && ci && !filtered) {
    code = node([
      '--import',
      'tsx',
      join(root, 'scripts', 'reliability-report.ts'),
      '--check',
      '--records',
      records,
    ]);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
