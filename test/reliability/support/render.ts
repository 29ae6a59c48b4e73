// docs/reliability.md from a run's records (support/record.ts) and vitest's JSON summary. Pure, so the
// script that runs the suite (scripts/reliability-report.ts) stays a thin wrapper.
import type { CaseRecord, Suite } from './record';

export interface RunInfo {
  date: string;
  machine: string;
  node: string;
  command: string;
  durationSec: number;
  vitest: { total: number; passed: number; failed: number; skipped: number };
  /** Tests vitest saw fail, with their first error line (a failing beforeAll fails cases it never ran). */
  failedTests: { name: string; error: string }[];
}

const SECTIONS: { suite: Suite; title: string; file: string; intro: string }[] = [
  {
    suite: 'crash-matrix',
    title: 'The agent killed at every step',
    file: 'crash-matrix.test.ts',
    intro:
      'The host agent SIGKILLs itself (`FERRY_AGENT_CRASH_AT`) at the start of a step, right after journaling it, or inside a step with bytes half-written: half the artifact in `tmp/` (`mid-download`), part of the release in staging (`mid-unpack`), the temporary link made but not renamed (`mid-switch`). Each case then checks that `current` names a complete release, and that the next deploy breaks the dead lock, recovers from the journal, succeeds and leaves no debris (`.ferry/tmp` empty, no `current.tmp-*`, no release without its marker, no journal, no lock).',
  },
  {
    suite: 'cli-crash',
    title: 'The CLI killed mid-rollout',
    file: 'cli-crash.test.ts',
    intro:
      '`bin/ferry.js` as a child process over 3 local-transport hosts, SIGKILLed between hosts (`FERRY_CLI_CRASH_AFTER_HOSTS`) or together with the agent it runs (its process group). The environment lock it leaves must block while fresh and not past its expiry (`lockTtlSeconds: 30`; the test moves the expiry into the past) or after `ferry unlock`; re-running must converge every host on one version.',
  },
  {
    suite: 'tampered',
    title: 'Tampered releases',
    file: 'tampered.test.ts',
    intro:
      'Files overwritten in a local registry, then `ferry deploy` to 2 hosts: the canary refuses before any switch with exit 5 and the failed check named, the second host is skipped, and 1.0.0 keeps serving on both.',
  },
  {
    suite: 'archives',
    title: 'Malicious archives',
    file: 'archives.test.ts',
    intro:
      'Hand-made tar entries, brotli-compressed as `ferry build` writes releases (the bomb also as gzip, as releases published before were), validly signed so they pass verify and download and reach the unpacker. Each is refused at unpack (exit 5); a sentinel folder beside the host, where the escapes aim, stays empty; staging and download are removed; 1.0.0 keeps serving.',
  },
  {
    suite: 'registry-faults',
    title: 'Registry faults',
    file: 'registry-faults.test.ts',
    intro:
      "The OSS test server (public port for the CLI, internal port for the hosts' presigned downloads) with 30% of requests failing (503, resets, slow answers; seeded); then answering 503 to everything or to the hosts only; the hosts' endpoint pointed at a loopback port nothing listens on; GET bodies corrupted while the environment lock is released; and the server closed. Local-transport hosts.",
  },
  {
    suite: 'disk-full',
    title: 'Disk full',
    file: 'disk-full.test.ts',
    intro:
      "A host on an 8 MiB tmpfs where this machine allows mounting one (root on Linux); otherwise the agent's test-only `FERRY_AGENT_FAIL_WRITE_AFTER_BYTES` makes unpack writes fail with a real ENOSPC error, and the download case, which needs the tmpfs, is skipped with the reason (under CI it fails instead). The detail column says which path ran.",
  },
  {
    suite: 'service-hostile',
    title: 'Storage service: hostile requests',
    file: 'service-hostile.test.ts',
    intro:
      'A real listening server (disk backend) where Alice and Bob already have files. After every request the storage folder holds exactly the same files. The last cases use their own servers: what request logs keep, HTML and SVG stored on OSS, and service links in production.',
  },
  {
    suite: 'service-concurrency',
    title: 'Storage service: concurrency',
    file: 'service-concurrency.test.ts',
    intro: 'Concurrent uploads from several users against a real listening server (disk backend).',
  },
  {
    suite: 'service-slow-clients',
    title: 'Storage service: slow clients and connection floods',
    file: 'service-slow-clients.test.ts',
    intro:
      'Raw sockets against a real listening server with the limits set low (hundreds of milliseconds): headers and bodies trickled a byte at a time, bodies that stop, idle keep-alive sockets, more connections than MAX_CONNECTIONS. Each case asserts who closed the connection and what the client was told.',
  },
  {
    suite: 'service-floods',
    title: 'Storage service: file floods, big listings and the usage race',
    file: 'service-floods.test.ts',
    intro:
      'One user with many files (empty ones included) against a real listening server: the per-user file limit and minimum charge, listings served from the index (the request path never walks storage; `npm run bench -- --only big-user` measures the latency with 100,000 files), and usage that no listing can roll back.',
  },
  {
    suite: 'secret-files',
    title: 'Secret files on a host',
    file: 'secret-files.test.ts',
    intro:
      'The write script behind `writeFileArgv` (shared/.env with AUTH_SECRET, pull.json), run for real while a second, unprivileged local user (uid 65534) tries to read the file being written.',
  },
];

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ').trim();

export function renderReport(records: CaseRecord[], run: RunInfo): string {
  const pass = records.filter((r) => r.result === 'pass').length;
  const fail = records.length - pass;
  const out: string[] = [
    '# Reliability: what breaks on purpose, and what holds',
    '',
    '<!-- Generated by `npx tsx scripts/reliability-report.ts` from a run of test/reliability; do not edit. -->',
    '',
    'Every case below is a test in `test/reliability/` that breaks something on purpose (kills a process',
    'mid-step, tampers with a release, fills a disk, takes the registry down, sends hostile requests) and',
    'asserts what must still hold. Each row says only what its test asserts; the detail column is what the',
    'run observed.',
    '',
    'This page is generated, never edited: `npx tsx scripts/reliability-report.ts` runs `test/reliability`',
    'and rewrites it. CI records the rows its own `npm test` run proves and fails when they differ from the',
    "page's (times, dates, durations, byte sizes, ports and random keys aside): regenerate the page in the",
    'change that alters a row. `npx tsx scripts/reliability-report.ts --check` runs the same comparison.',
    '',
    `- **Run:** ${run.date} on ${run.machine}, Node ${run.node}, ${run.durationSec} s`,
    `- **Command:** \`${run.command}\``,
    `- **Cases:** ${records.length} recorded, ${pass} pass, ${fail} fail (vitest: ${run.vitest.passed}/${run.vitest.total} tests passed, ${run.vitest.failed} failed, ${run.vitest.skipped} skipped)`,
    '',
  ];
  const table = (rows: CaseRecord[]) => {
    out.push('| Case | Proves | Result | Detail |', '|---|---|---|---|');
    for (const r of rows) {
      const result = r.result === 'pass' ? 'pass' : '**FAIL**';
      out.push(`| ${cell(r.case)} | ${cell(r.proves)} | ${result} | ${cell(r.detail)} |`);
    }
    out.push('');
  };
  for (const s of SECTIONS) {
    const rows = records.filter((r) => r.suite === s.suite);
    out.push(`## ${s.title}`, '', `\`test/reliability/${s.file}\` — ${s.intro}`, '');
    if (rows.length === 0) {
      out.push('_No case recorded in this run._', '');
      continue;
    }
    table(rows);
  }
  // A suite with no section above yet (added by another change) is shown, never dropped: the page and
  // its drift check cover every recorded case.
  const known = new Set<string>(SECTIONS.map((s) => s.suite));
  for (const suite of new Set(records.map((r) => r.suite as string).filter((n) => !known.has(n)))) {
    out.push(
      `## Suite \`${suite}\``,
      '',
      `Cases recorded as \`${suite}\`; no section describes them yet.`,
      '',
    );
    table(records.filter((r) => r.suite === suite));
  }
  if (run.failedTests.length > 0) {
    out.push('## Failed tests', '', '| Test | Error |', '|---|---|');
    for (const t of run.failedTests) out.push(`| ${cell(t.name)} | ${cell(t.error)} |`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
