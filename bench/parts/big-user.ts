// One user holding 100,000 files (10,000 with --quick) on the disk backend: how long a page of 50 takes
// under load, and whether /healthz stays quick while 20 such listings run at once. The files are written
// straight into the folder layout (empty, as the flood that prompted this was), with no index: the
// service builds it on first use, and that first listing is timed too.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { newFileId, objectKey } from '../../app/storage/keys';
import { token } from '../lib/api-client';
import { formatCount, formatMs, formatRate, formatSeconds, percentile } from '../lib/format';
import { freePort } from '../lib/net';
import type { BenchContext, Part, PartResult } from '../lib/part';
import { serviceBundle, startFerry } from '../lib/servers';
import type { Table } from '../lib/table';
import { runWrk, type WrkResult } from '../lib/wrk';

const USER = 'hoarder';
const LIST_PATH = '/v1/files?limit=50';
const LISTINGS = 20;
const GOALS = { listP99Ms: 50, healthP99Ms: 20 };

export interface BigUserData {
  files: number;
  seedMs: number;
  firstListingMs: number;
  list: WrkResult;
  healthz: { samples: number; p50Ms: number; p99Ms: number; maxMs: number; listings: WrkResult };
}

export const part: Part = {
  name: 'big-user',
  title: 'One user with 100,000 files: listing latency, and /healthz while 20 listings run',
  async run(ctx: BenchContext): Promise<PartResult> {
    const files = ctx.quick ? 10_000 : 100_000;
    const seconds = ctx.quick ? 3 : 10;
    const bundle = await serviceBundle(ctx);
    const storageDir = join(ctx.tmp, 'storage');

    ctx.log(`writing ${formatCount(files)} empty files of user ${USER} into the disk layout…`);
    const t0 = performance.now();
    await seed(storageDir, files);
    const seedMs = performance.now() - t0;
    ctx.log(`  seeded in ${formatSeconds(seedMs)}`);

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const proc = await startFerry(bundle, {
      port,
      storageDir,
      workers: 1,
      env: { MAX_FILES_PER_USER: '0', USAGE_CACHE_SECONDS: '30' },
    });
    ctx.defer(() => proc.stop());
    const bearer = await token(USER);

    const t1 = performance.now();
    const first = await fetch(`${base}${LIST_PATH}`, { headers: { authorization: `Bearer ${bearer}` } });
    const firstBody = (await first.json()) as { items?: unknown[] };
    const firstListingMs = performance.now() - t1;
    if (first.status !== 200 || firstBody.items?.length !== 50)
      throw new Error(`first listing: HTTP ${first.status} ${JSON.stringify(firstBody).slice(0, 300)}`);
    ctx.log(`  first listing (index built from the folder tree): ${formatMs(firstListingMs)}`);

    const wrk = (durationSec: number) =>
      runWrk(
        { url: base, threads: 1, connections: LISTINGS, durationSec },
        { token: bearer, workDir: ctx.tmp, paths: [LIST_PATH] },
      );
    await wrk(1); // warm-up
    const list = await wrk(seconds);
    ctx.log(`  ${LIST_PATH}: ${formatRate(list.rps)} req/s, p99 ${formatMs(list.latencyUs.p99 / 1000)}`);

    // /healthz probed one request at a time over a keep-alive connection while wrk keeps 20 listings
    // in flight.
    const probing = probeHealth(base, seconds * 1000);
    const listings = await wrk(seconds);
    const samples = await probing;
    const healthz = {
      samples: samples.length,
      p50Ms: percentile(samples, 50),
      p99Ms: percentile(samples, 99),
      maxMs: Math.max(...samples),
      listings,
    };
    ctx.log(
      `  /healthz under ${LISTINGS} listings: p99 ${formatMs(healthz.p99Ms)} over ${samples.length} probes`,
    );

    const data: BigUserData = { files, seedMs, firstListingMs, list, healthz };
    return { tables: [table(data, seconds)], data };
  },
};

async function seed(root: string, count: number): Promise<void> {
  const sha = createHash('sha256').digest('hex');
  // A minute apart, ending now: spread over a few months, as real uploads would be.
  const start = Date.now() - count * 60_000;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const at = start + i * 60_000;
      const id = newFileId('other', at);
      const dir = join(root, objectKey(USER, id));
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'content'), '');
      await writeFile(
        join(dir, 'meta.json'),
        JSON.stringify({
          id,
          userId: USER,
          name: `empty-${i}.bin`,
          size: 0,
          contentType: 'application/octet-stream',
          category: 'other',
          sha256: sha,
          createdAt: new Date(at).toISOString(),
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/** Sequential GET /healthz on one keep-alive connection for `ms`; latencies in ms. */
async function probeHealth(base: string, ms: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  const until = Date.now() + ms;
  try {
    while (Date.now() < until) {
      const t = performance.now();
      await new Promise<void>((resolve, reject) => {
        http
          .get(`${base}/healthz`, { agent }, (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode === 200 ? resolve() : reject(new Error(`healthz ${res.statusCode}`)),
            );
          })
          .on('error', reject);
      });
      samples.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    agent.destroy();
  }
  return samples;
}

function table(d: BigUserData, seconds: number): Table {
  const verdict = (value: number, goal: number) => (value <= goal ? 'met' : 'MISSED');
  const listP99 = d.list.latencyUs.p99 / 1000;
  return {
    title: `One user with ${formatCount(d.files)} files (disk backend, 1 worker)`,
    columns: [
      { header: 'measure' },
      { header: 'p99', right: true },
      { header: 'goal', right: true },
      { header: '', right: false },
      { header: 'detail', right: true },
    ],
    rows: [
      [
        `GET ${LIST_PATH}, ${LISTINGS} at a time`,
        formatMs(listP99),
        `≤ ${GOALS.listP99Ms} ms`,
        verdict(listP99, GOALS.listP99Ms),
        `${formatRate(d.list.rps)} req/s, ${formatCount(d.list.failed)} failed`,
      ],
      [
        `GET /healthz while ${LISTINGS} such listings run`,
        formatMs(d.healthz.p99Ms),
        `≤ ${GOALS.healthP99Ms} ms`,
        verdict(d.healthz.p99Ms, GOALS.healthP99Ms),
        `${formatCount(d.healthz.samples)} probes, max ${formatMs(d.healthz.maxMs)}`,
      ],
      [
        'first listing after start (builds the index from the folder tree)',
        formatMs(d.firstListingMs),
        '–',
        '',
        `once per user and process`,
      ],
    ],
    notes: [
      `${formatCount(d.files)} empty files written straight into the disk layout (${formatSeconds(d.seedMs)}), no index: the service builds it on first use.`,
      `wrk, 1 thread, ${LISTINGS} connections, ${seconds} s after a 1 s warm-up; /healthz probed one request at a time on a keep-alive connection, every 10 ms, during a second ${seconds} s wrk run.`,
      'Ferry: the ncc bundle, NODE_ENV=production, LOG_LEVEL=warn, MAX_FILES_PER_USER=0. wrk and the prober share the 2 cores with the server.',
    ],
  };
}
