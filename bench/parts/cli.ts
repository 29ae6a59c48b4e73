// How long `ferry` takes to start, next to a bare `node -e 0`: the compiled CLI (what bin/ferry.js runs
// after `npm ci` / `npm run build`) and the TypeScript sources through tsx (what it ran before, and what
// it falls back to when a source is newer than the build). Each command is a fresh process, as in a shell.
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatMs, median, ratio } from '../lib/format';
import type { BenchContext, Part, PartResult } from '../lib/part';
import { REPO } from '../lib/servers';

/** The goal of issue 14: `ferry` starts in at most 4× a bare `node -e 0`. */
const GOAL = 4;

interface Case {
  label: string;
  argv: string[];
}

export const part: Part = {
  name: 'cli',
  title: 'CLI start-up vs node -e 0',
  async run(ctx: BenchContext): Promise<PartResult> {
    ctx.log('compiling the CLI (scripts/build-cli.mjs, as npm ci runs it)');
    const t0 = performance.now();
    const build = spawnSync(process.execPath, [join(REPO, 'scripts/build-cli.mjs')], {
      cwd: REPO,
      encoding: 'utf8',
    });
    const buildMs = performance.now() - t0;
    if (build.status !== 0) throw new Error(`build-cli failed: ${build.stderr}`);

    // A config of its own (a local registry in the part's folder): `releases` loads config and registry.
    const config = join(ctx.tmp, 'releases.yaml');
    await writeFile(
      config,
      `app: {name: bench, entry: ${join(REPO, 'app/server.ts')}}\nregistry: {type: local, path: ${join(ctx.tmp, 'registry')}}\n`,
    );
    const bin = join(REPO, 'bin/ferry.js');
    // The bin as it was before the compiled CLI: tsx registered, main.ts compiled on every start.
    const viaTsx = `import { register } from 'tsx/esm/api'; register();
const { main } = await import(${JSON.stringify(join(REPO, 'pipeline/cli/main.ts'))});
process.exitCode = await main(process.argv.slice(1), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), isTTY: false });`;
    const cases: Case[] = [
      { label: 'node -e 0', argv: ['-e', '0'] },
      { label: 'ferry --version (compiled)', argv: [bin, '--version'] },
      { label: 'ferry --help (compiled)', argv: [bin, '--help'] },
      { label: 'ferry releases (compiled; config + registry)', argv: [bin, '-c', config, 'releases'] },
      {
        label: 'ferry --version (sources via tsx, the fallback)',
        argv: ['--input-type=module', '-e', viaTsx, '--', '--version'],
      },
      {
        label: 'ferry releases (sources via tsx)',
        argv: ['--input-type=module', '-e', viaTsx, '--', '-c', config, 'releases'],
      },
    ];
    const runs = ctx.quick ? 5 : 15;
    const times = new Map<string, number[]>(cases.map((c) => [c.label, []]));
    ctx.log(`${runs} rounds of ${cases.length} commands, interleaved`);
    for (let i = 0; i < runs + 1; i++) {
      for (const c of cases) {
        const s = performance.now();
        const r = spawnSync(process.execPath, c.argv, {
          cwd: REPO,
          encoding: 'utf8',
          env: { ...process.env, NO_COLOR: '1' },
        });
        const ms = performance.now() - s;
        if (r.status !== 0) throw new Error(`${c.label} exited ${r.status}: ${r.stderr}`);
        // The first round warms the page cache and is not counted.
        if (i > 0) times.get(c.label)?.push(ms);
      }
    }
    const base = median(times.get('node -e 0') ?? []);
    const rows = cases.map((c) => {
      const m = median(times.get(c.label) ?? []);
      return { label: c.label, medianMs: m, vsNode: m / base, min: Math.min(...(times.get(c.label) ?? [])) };
    });
    return {
      tables: [
        {
          title: 'CLI start-up: one process per command, median',
          columns: [
            { header: 'command' },
            { header: 'median', right: true },
            { header: 'fastest', right: true },
            { header: 'vs node -e 0', right: true },
          ],
          rows: rows.map((r) => [r.label, formatMs(r.medianMs), formatMs(r.min), ratio(r.medianMs, base)]),
          notes: [
            `${runs} runs of each (after one uncounted warm-up round), the commands interleaved so machine load hits all alike. Goal: ≤ ${GOAL}× node -e 0.`,
            `Compiling the CLI (scripts/build-cli.mjs with esbuild; run by npm ci's prepare step and npm run build) took ${formatMs(buildMs)}.`,
            '"sources via tsx" is the bin before the compiled CLI, and what it still runs when a source file changed after the last build.',
          ],
        },
      ],
      data: { runs, buildMs, goalTimesNode: GOAL, commands: rows },
    };
  },
};
