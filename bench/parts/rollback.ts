// Deploy and rollback wall time on 1, 3 and 10 local hosts, command start to exit: the real `ferry` process
// (bin/ferry.js, start-up included), the storage service as it ships (its ncc bundle, on the runtime
// shipped with the release), local transport, all hosts in one batch after the canary. The goal: a rollback
// of 3 hosts in 1.5 s.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSigningKeyPair } from '../../pipeline/release/signing';
import { formatSeconds } from '../lib/format';
import { freePort } from '../lib/net';
import type { BenchContext, Part, PartResult } from '../lib/part';
import { packRelease, writeArtifact } from '../lib/releases';
import { REPO, serviceBundle } from '../lib/servers';

const APP = 'ferry-storage';
const ROLLBACK_GOAL_MS = 1500;
const GOAL_HOSTS = 3;

interface Row {
  hosts: number;
  deployMs: number[];
  rollbackMs: number[];
}

/** Runs `node bin/ferry.js …` as its own process and times it from spawn to exit. */
function ferry(
  cwd: string,
  env: Record<string, string>,
  argv: string[],
): Promise<{ code: number; ms: number; out: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(REPO, 'bin', 'ferry.js'), ...argv], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, ms: performance.now() - t0, out }));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

export const part: Part = {
  name: 'rollback',
  title: 'Deploy and rollback wall time on 1, 3 and 10 local hosts (the real CLI process)',
  async run(ctx: BenchContext): Promise<PartResult> {
    const sizes = ctx.quick ? [1, 3] : [1, 3, 10];
    const rounds = ctx.quick ? 1 : 3;
    const bundle = await serviceBundle(ctx);
    const keys = generateSigningKeyPair();
    const keyFile = join(ctx.tmp, 'signing.pem');
    await writeFile(keyFile, keys.privateKeyPem, { mode: 0o600 });
    const secrets = join(ctx.tmp, 'secrets.env');
    await writeFile(secrets, `AUTH_SECRET=${'b'.repeat(48)}\n`, { mode: 0o600 });
    const artifacts = await Promise.all(
      ['1.0.0', '2.0.0'].map((v) => writeArtifact(ctx.tmp, packRelease(APP, v, bundle.files))),
    );
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: ctx.tmp,
      FERRY_WHO: 'bench@localhost',
      FERRY_SIGNING_KEY_FILE: keyFile,
    };
    const bare: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await new Promise((r) => spawn(process.execPath, ['-e', '0']).on('close', r));
      bare.push(performance.now() - t0);
    }

    const rows: Row[] = [];
    for (const n of sizes) {
      const dir = join(ctx.tmp, `hosts-${n}`);
      const ports: number[] = [];
      while (ports.length < n) {
        const p = await freePort();
        if (!ports.includes(p)) ports.push(p);
      }
      await writeFile(
        join(ctx.tmp, `releases-${n}.yaml`),
        `app:
  name: ${APP}
  entry: ${join(REPO, 'app', 'server.ts')}
  runtime:
    node: ">=20"
    from: self
registry:
  type: local
  path: ${join(ctx.tmp, 'registry')}
signing:
  publicKey: ${keys.publicKey}
environments:
  bench:
    transport: local
    path: ${dir}
    batch: "100%"
    concurrency: 20
    keep: 3
    health:
      timeoutSeconds: 60
    service:
      workers: 1
    hosts:
${ports.map((p, i) => `      - { name: h${i + 1}, appPort: ${p} }`).join('\n')}
`,
      );
      const cfg = ['-c', join(ctx.tmp, `releases-${n}.yaml`)];
      const must = async (...argv: string[]) => {
        const r = await ferry(ctx.tmp, env, [...cfg, ...argv]);
        if (r.code !== 0) throw new Error(`ferry ${argv.join(' ')} exited ${r.code}:\n${r.out.slice(-2000)}`);
        return r;
      };
      ctx.defer(async () => {
        for (let i = 1; i <= n; i++) {
          try {
            const pid = Number(
              (await readFile(join(dir, `h${i}`, '.ferry', 'supervisor.pid'), 'utf8')).trim(),
            );
            if (pid > 0) process.kill(pid, 'SIGTERM');
          } catch {
            // not running
          }
        }
      });
      if (n === sizes[0]) for (const a of artifacts) await must('publish', '--artifact', a);
      ctx.log(`${n} local host(s): setup and first deploy`);
      await must('setup', 'bench', '--env-file', secrets);
      await must('deploy', 'bench', '--version', '1.0.0');
      const row: Row = { hosts: n, deployMs: [], rollbackMs: [] };
      for (let i = 0; i < rounds; i++) {
        // A rollback marks the release rolled away from bad; the next round deploys it again on purpose.
        row.deployMs.push((await must('deploy', 'bench', '--version', '2.0.0', '--allow-bad')).ms);
        row.rollbackMs.push((await must('rollback', 'bench', '--to', '1.0.0')).ms);
      }
      ctx.log(
        `  deploy ${formatSeconds(median(row.deployMs))}, rollback ${formatSeconds(median(row.rollbackMs))}`,
      );
      rows.push(row);
    }
    const goalRow = rows.find((r) => r.hosts === GOAL_HOSTS);
    const goalMs = goalRow ? median(goalRow.rollbackMs) : null;
    return {
      tables: [
        {
          title: `Deploy and rollback, command start to exit (median of ${rounds}; the storage service, local hosts)`,
          columns: [
            { header: 'hosts', right: true },
            { header: 'deploy', right: true },
            { header: 'rollback', right: true },
            { header: 'rollback goal', right: true },
          ],
          rows: rows.map((r) => [
            String(r.hosts),
            formatSeconds(median(r.deployMs)),
            formatSeconds(median(r.rollbackMs)),
            r.hosts === GOAL_HOSTS
              ? `≤ ${formatSeconds(ROLLBACK_GOAL_MS)}: ${median(r.rollbackMs) <= ROLLBACK_GOAL_MS ? 'met' : 'NOT met'}`
              : '',
          ]),
          notes: [
            `\`node bin/ferry.js deploy|rollback\` spawned as a process (start-up included; a bare \`node -e 0\` takes ${formatSeconds(median(bare))} here). Local transport: each host is a folder, its agent a local process; 1 worker per host, process mode; the release's runtime is the Node running the bench (from: self).`,
            'deploy = 1.0.0 → 2.0.0 on hosts serving 1.0.0 (canary, then every other host at once): verify, unpack, switch, new generation proven on its private port, old one drained. rollback = back to 1.0.0, every host at once, no download.',
          ],
        },
      ],
      data: {
        rows: rows.map((r) => ({
          ...r,
          deployMedianMs: median(r.deployMs),
          rollbackMedianMs: median(r.rollbackMs),
        })),
        bareNodeMs: median(bare),
        rollbackGoal: {
          hosts: GOAL_HOSTS,
          goalMs: ROLLBACK_GOAL_MS,
          measuredMs: goalMs,
          met: goalMs !== null && goalMs <= ROLLBACK_GOAL_MS,
        },
      },
    };
  },
};
