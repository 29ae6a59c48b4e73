// Downtime: failed requests under steady keep-alive load while Ferry deploys and rolls back the real
// service (one local host, supervisor with 1 worker), next to a naive restart of the same bundle.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateSigningKeyPair } from '../../pipeline/release/signing';
import { REPO } from '../../test/fixtures/agent-host';
import { hammer, type LoadReport } from '../../test/fixtures/load';
import { ferryCli } from '../lib/ferry-cli';
import { formatCount, formatMs, formatSeconds } from '../lib/format';
import { freePort, waitForHttp } from '../lib/net';
import type { BenchContext, Part, PartResult } from '../lib/part';
import { spawnTracked } from '../lib/procs';
import { packRelease, writeArtifact } from '../lib/releases';
import { AUTH_SECRET, serviceBundle, startFerry } from '../lib/servers';

const APP = 'ferry-storage';
const CONCURRENCY = 8;

interface Row {
  what: string;
  actionMs: number;
  windowMs: number;
  report: LoadReport;
  /** Longest stretch with no successful response, ms. */
  longestGapMs: number;
}

export const part: Part = {
  name: 'downtime',
  title: 'Downtime under load: deploy and rollback vs a naive restart',
  async run(ctx: BenchContext): Promise<PartResult> {
    const settleMs = ctx.quick ? 500 : 1500;
    const bundle = await serviceBundle(ctx);
    const keys = generateSigningKeyPair();
    const port = await freePort();
    const hostsDir = join(ctx.tmp, 'hosts');
    const configFile = join(ctx.tmp, 'releases.yaml');
    await writeFile(configFile, configYaml(ctx.tmp, hostsDir, port, keys.publicKey));
    const secrets = join(ctx.tmp, 'secrets.env');
    await writeFile(secrets, `AUTH_SECRET=${AUTH_SECRET}\n`);
    const ferry = ferryCli(configFile, ctx.tmp, {
      PATH: process.env.PATH,
      HOME: ctx.tmp,
      FERRY_WHO: 'bench@localhost',
      FERRY_SIGNING_KEY: keys.privateKeyPem,
    });
    const hostRoot = join(hostsDir, 'h1');
    ctx.defer(() =>
      promisify(execFile)(process.execPath, [
        join(hostRoot, '.ferry', 'agent', 'index.js'),
        'service',
        'stop',
        '--root',
        hostRoot,
      ]).catch(() => {}),
    );
    for (const v of ['1.0.0', '2.0.0']) {
      await ferry.ok(
        'publish',
        '--artifact',
        await writeArtifact(ctx.tmp, packRelease(APP, v, bundle.files)),
      );
    }
    ctx.log('setup + first deploy of the real service on one local host');
    await ferry.ok('setup', 'local', '--env-file', secrets);
    await ferry.ok('deploy', 'local', '--version', '1.0.0');

    const rows: Row[] = [];
    rows.push(
      await underLoad('ferry deploy 1.0.0 → 2.0.0', port, settleMs, () =>
        ferry.ok('deploy', 'local', '--version', '2.0.0'),
      ),
    );
    rows.push(
      await underLoad('ferry rollback 2.0.0 → 1.0.0', port, settleMs, () => ferry.ok('rollback', 'local')),
    );

    // The same bundle as one plain process, restarted the naive way.
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const naivePort = await freePort();
      const storageDir = join(ctx.tmp, `naive-${signal}`);
      const opts = { port: naivePort, storageDir, workers: 1 };
      let proc = await startFerry(bundle, opts);
      rows.push(
        await underLoad(
          `naive restart: kill -${signal.slice(3)}, start again`,
          naivePort,
          settleMs,
          async () => {
            proc.child.kill(signal);
            await new Promise((r) => (proc.exited() ? r(null) : proc.child.once('exit', r)));
            await proc.stop();
            proc = spawnTracked('ferry service (restarted)', process.execPath, [bundle.entry], {
              env: naiveEnv(opts),
            });
            await waitForHttp(`http://127.0.0.1:${naivePort}/healthz`, { proc, timeoutMs: 30_000 });
          },
        ),
      );
      await proc.stop();
    }

    return {
      tables: [
        {
          title: `Requests under load (${CONCURRENCY} keep-alive clients, GET /version) during each action`,
          columns: [
            { header: 'action' },
            { header: 'action took', right: true },
            { header: 'requests', right: true },
            { header: 'failed', right: true },
            { header: 'non-2xx', right: true },
            { header: 'longest gap', right: true },
          ],
          rows: rows.map((r) => [
            r.what,
            formatSeconds(r.actionMs),
            formatCount(r.report.requests),
            formatCount(r.report.errors),
            formatCount(r.report.non2xx),
            formatMs(r.longestGapMs),
          ]),
          notes: [
            `The load runs ${formatSeconds(settleMs)} before and after each action: test/fixtures/load.ts, a loop of keep-alive node:http requests that honours Connection: close.`,
            'failed = connection refused/reset or no answer; longest gap = the longest stretch in which no request succeeded (sampled every 5 ms): for a naive restart this is the outage, and "failed" only says how fast the clients retried into it.',
            'Ferry: one local host (transport local), the supervisor with 1 worker, the real service as an ncc bundle; the naive rows run the same bundle as one plain process.',
          ],
        },
      ],
      data: { concurrency: CONCURRENCY, settleMs, rows },
    };
  },
};

function naiveEnv(o: { port: number; storageDir: string }): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AUTH_SECRET,
    STORAGE_DIR: o.storageDir,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(o.port),
    LOG_LEVEL: 'warn',
  };
}

async function underLoad(
  what: string,
  port: number,
  settleMs: number,
  action: () => Promise<unknown>,
): Promise<Row> {
  const load = hammer(port, { concurrency: CONCURRENCY, path: '/version' });
  let lastOk = 0;
  let lastProgress = performance.now();
  let longestGapMs = 0;
  const sampler = setInterval(() => {
    const now = performance.now();
    if (load.report.ok !== lastOk) {
      lastOk = load.report.ok;
      lastProgress = now;
    } else longestGapMs = Math.max(longestGapMs, now - lastProgress);
  }, 5);
  const t0 = performance.now();
  let actionMs = 0;
  let report: LoadReport;
  try {
    await sleep(settleMs);
    const a0 = performance.now();
    await action();
    actionMs = performance.now() - a0;
    await sleep(settleMs);
  } finally {
    clearInterval(sampler);
    report = await load.stop();
  }
  return { what, actionMs, windowMs: performance.now() - t0, report, longestGapMs };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function configYaml(tmp: string, hostsDir: string, port: number, publicKey: string): string {
  return `app:
  name: ${APP}
  entry: ${join(REPO, 'app', 'server.ts')}
  env:
    NODE_ENV: production
    LOG_LEVEL: warn
registry:
  type: local
  path: ${join(tmp, 'registry')}
signing:
  publicKey: ${publicKey}
environments:
  local:
    transport: local
    path: ${hostsDir}
    hosts:
      - name: h1
        appPort: ${port}
    health:
      timeoutSeconds: 30
      intervalMs: 100
    service:
      mode: process
      workers: 1
`;
}
