// Ferry's storage service against the FastAPI reference: same machine, same worker count, same auth,
// the same files seeded through each one's own upload route; wrk drives four requests in turn.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { seedFiles, token } from '../lib/api-client';
import { formatCount, formatMs, formatRate, ratio } from '../lib/format';
import { freePort } from '../lib/net';
import type { BenchContext, Part, PartResult } from '../lib/part';
import type { Tracked } from '../lib/procs';
import { serviceBundle, startFastApi, startFerry } from '../lib/servers';
import type { Table } from '../lib/table';
import { runWrk, type WrkResult } from '../lib/wrk';

type Server = 'ferry' | 'fastapi';
type Scenario = 'metadata' | 'download' | 'list' | 'upload';

const SCENARIOS: Record<Scenario, { label: string; connections: number }> = {
  metadata: { label: 'GET /v1/files/{id}', connections: 32 },
  download: { label: 'GET /v1/files/{id}/content (4 KiB)', connections: 32 },
  list: { label: 'GET /v1/files?limit=100', connections: 32 },
  upload: { label: 'POST /v1/files (1 MiB multipart)', connections: 8 },
};
const SEED_FILES = 200;
const SEED_SIZE = 4096;
const UPLOAD_SIZE = 1024 * 1024;

interface Measurement {
  server: Server;
  workers: number;
  scenario: Scenario;
  result: WrkResult;
}

export const part: Part = {
  name: 'service',
  title: 'Storage service vs the FastAPI original',
  async run(ctx: BenchContext): Promise<PartResult> {
    const bundle = await serviceBundle(ctx);
    const seconds = ctx.quick ? 3 : 2;
    const rounds = ctx.quick ? 1 : 3;
    const plan: { workers: number; scenarios: Scenario[] }[] = ctx.quick
      ? [{ workers: 1, scenarios: ['metadata', 'download', 'list', 'upload'] }]
      : [
          { workers: 1, scenarios: ['metadata', 'download', 'list', 'upload'] },
          { workers: 2, scenarios: ['metadata', 'download'] },
        ];
    const [alice, bob] = [await token('alice'), await token('bob')];
    const seeded = new Map<Server, string[]>();
    const measurements: Measurement[] = [];

    for (const { workers, scenarios } of plan) {
      // Both servers run side by side (the idle one costs nothing) so the rounds can alternate between
      // them: background load on a shared machine then hits both alike.
      const servers: { server: Server; base: string; procs: Tracked[] }[] = [];
      try {
        for (const server of ['ferry', 'fastapi'] as const) {
          const storageDir = join(ctx.tmp, server);
          await mkdir(storageDir, { recursive: true });
          const port = await freePort();
          ctx.log(`${server}, ${workers} worker(s) on :${port}`);
          const procs: Tracked[] = [];
          servers.push({ server, base: `http://127.0.0.1:${port}`, procs });
          if (server === 'ferry') procs.push(await startFerry(bundle, { port, storageDir, workers }));
          else procs.push(...(await startFastApi({ port, storageDir, workers })));
          if (!seeded.has(server)) {
            ctx.log(`  seeding ${SEED_FILES} files of ${SEED_SIZE} bytes through ${server}'s upload route`);
            seeded.set(server, await seedFiles(`http://127.0.0.1:${port}`, alice, SEED_FILES, SEED_SIZE));
          }
        }
        for (const scenario of scenarios) {
          const best = new Map<Server, WrkResult>();
          const runFor = (s: (typeof servers)[number], durationSec: number) =>
            runWrk(
              { url: s.base, threads: 1, connections: SCENARIOS[scenario].connections, durationSec },
              {
                token: scenario === 'upload' ? bob : alice,
                workDir: ctx.tmp,
                paths: pathsFor(scenario, seeded.get(s.server)!),
                uploadBytes: scenario === 'upload' ? UPLOAD_SIZE : 0,
              },
            );
          for (const s of servers) await runFor(s, 1); // warm-up: JIT, page cache, connections
          for (let round = 0; round < rounds; round++) {
            const order = round % 2 === 0 ? servers : [...servers].reverse();
            for (const s of order) {
              const r = await runFor(s, seconds);
              if (!best.has(s.server) || r.rps > best.get(s.server)!.rps) best.set(s.server, r);
            }
          }
          for (const [server, result] of best) {
            ctx.log(
              `  ${scenario} ${server}: ${formatRate(result.rps)} req/s, p99 ${formatMs(result.latencyUs.p99 / 1000)}, failed ${result.failed}`,
            );
            measurements.push({ server, workers, scenario, result });
          }
        }
      } finally {
        for (const s of servers) for (const p of s.procs) await p.stop();
      }
      // Uploads add ~1 MiB each: drop them before the next round writes more.
      for (const server of ['ferry', 'fastapi']) {
        await rm(join(ctx.tmp, server, 'files', 'bob'), { recursive: true, force: true });
      }
    }
    return { tables: [table(measurements, seconds, rounds)], data: { seconds, rounds, measurements } };
  },
};

function pathsFor(scenario: Scenario, ids: string[]): string[] {
  switch (scenario) {
    case 'metadata':
      return ids.map((id) => `/v1/files/${id}`);
    case 'download':
      return ids.map((id) => `/v1/files/${id}/content`);
    case 'list':
      return ['/v1/files?limit=100'];
    case 'upload':
      return ['/v1/files'];
  }
}

function table(ms: Measurement[], seconds: number, rounds: number): Table {
  const find = (server: Server, workers: number, scenario: Scenario) =>
    ms.find((m) => m.server === server && m.workers === workers && m.scenario === scenario)?.result;
  const keys = [...new Set(ms.map((m) => `${m.workers}|${m.scenario}`))];
  const rows = keys.map((k) => {
    const [w, scenario] = k.split('|') as [string, Scenario];
    const f = find('ferry', Number(w), scenario);
    const p = find('fastapi', Number(w), scenario);
    return [
      SCENARIOS[scenario].label,
      w,
      formatRate(f?.rps),
      formatRate(p?.rps),
      ratio(f?.rps, p?.rps),
      formatMs(f ? f.latencyUs.p99 / 1000 : null),
      formatMs(p ? p.latencyUs.p99 / 1000 : null),
      `${formatCount(f?.failed)} / ${formatCount(p?.failed)}`,
    ];
  });
  return {
    title: 'Storage service (Node, Fastify) vs the FastAPI reference, same machine',
    columns: [
      { header: 'request' },
      { header: 'workers', right: true },
      { header: 'Ferry req/s', right: true },
      { header: 'FastAPI req/s', right: true },
      { header: 'ratio', right: true },
      { header: 'Ferry p99', right: true },
      { header: 'FastAPI p99', right: true },
      { header: 'failed F/P', right: true },
    ],
    rows,
    notes: [
      `wrk, 1 thread, 32 connections (uploads: 8), HS256 bearer token on every request; best of ${rounds} round(s) of ${seconds} s per cell, the two servers alternating, after a 1 s warm-up each.`,
      `${SEED_FILES} files of ${SEED_SIZE} bytes seeded through each service's own upload route; both fsync uploads before answering.`,
      'Ferry: the ncc bundle, NODE_ENV=production, LOG_LEVEL=warn; 2 workers = node:cluster (round-robin), as the supervisor runs it.',
      'FastAPI 0.92 / uvicorn 0.17.6 (h11, asyncio; Debian 12), one process per worker on its own SO_REUSEPORT socket with TCP_NODELAY.',
      'wrk shares the 2 cores with the server under test, so absolute numbers are low; compare the columns.',
    ],
  };
}
