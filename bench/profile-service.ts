// Where one request kind spends its time: the service (from source, so frames keep their names) runs
// under `node --cpu-prof` while wrk sends that request as the service benchmark does; then the profile
// is summarised by package and function, and folded for a flame graph.
//   npx tsx bench/profile-service.ts download [--seconds 10] [--out DIR]
// DIR (default: a temp folder) gets the .cpuprofile (open it in Chrome DevTools' Performance panel or
// speedscope for a flame chart), summary.txt, and folded.txt (flamegraph.pl, inferno, speedscope).
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { seedFiles, token } from './lib/api-client';
import { type CpuProfile, foldedStacks, formatSummary, summarize } from './lib/cpu-profile';
import { freePort, waitForHttp } from './lib/net';
import { spawnTracked } from './lib/procs';
import { AUTH_SECRET, REPO } from './lib/servers';
import { runWrk } from './lib/wrk';
import { pathsFor, SCENARIOS, type Scenario } from './parts/service';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seconds: { type: 'string', default: '10' }, out: { type: 'string' } },
});
const scenario = positionals[0] as Scenario | undefined;
if (!scenario || !(scenario in SCENARIOS) || positionals.length !== 1) {
  process.stderr.write(
    `usage: npx tsx bench/profile-service.ts <${Object.keys(SCENARIOS).join('|')}> [--seconds N] [--out DIR]\n`,
  );
  process.exit(2);
}
const seconds = Number(values.seconds);
const out = values.out ?? (await mkdtemp(join(tmpdir(), `ferry-profile-${scenario}-`)));
const profiles = join(out, 'cpuprofile');
await mkdir(profiles, { recursive: true });
const storageDir = await mkdtemp(join(tmpdir(), 'ferry-profile-data-'));
const port = await freePort();

const service = spawnTracked(
  'service (profiled)',
  process.execPath,
  ['--cpu-prof', `--cpu-prof-dir=${profiles}`, '--import', 'tsx', join(REPO, 'app', 'server.ts')],
  {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      AUTH_SECRET,
      STORAGE_DIR: storageDir,
      USER_QUOTA_BYTES: '0',
    },
  },
);
try {
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/healthz`, { proc: service });
  const [alice, bob] = [await token('alice'), await token('bob')];
  const ids = await seedFiles(base, alice, 200, 4096);
  const load = {
    token: scenario === 'upload' ? bob : alice,
    workDir: out,
    paths: pathsFor(scenario, ids),
    uploadBytes: scenario === 'upload' ? 1024 * 1024 : 0,
    closeConnections: scenario === 'connect',
  };
  const run = { url: base, threads: 1, connections: SCENARIOS[scenario].connections };
  await runWrk({ ...run, durationSec: 1 }, load); // warm-up
  const r = await runWrk({ ...run, durationSec: seconds }, load);
  process.stdout.write(
    `${scenario}: ${Math.round(r.rps)} req/s, p99 ${(r.latencyUs.p99 / 1000).toFixed(1)} ms\n\n`,
  );
} finally {
  // SIGTERM: the service drains and exits, and Node writes the profile on the way out.
  await service.stop(30_000);
}
// One file per thread: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main one.
const main = (await readdir(profiles)).find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
if (!main) throw new Error(`no main-thread profile in ${profiles}:\n${service.output().slice(-1500)}`);
const profile = JSON.parse(await readFile(join(profiles, main), 'utf8')) as CpuProfile;
const summary = formatSummary(summarize(profile, REPO));
await writeFile(join(out, 'summary.txt'), `${summary}\n`);
await writeFile(join(out, 'folded.txt'), foldedStacks(profile, REPO));
process.stdout.write(`${summary}\n\nprofile: ${join(profiles, main)}\nsummary.txt, folded.txt in ${out}\n`);
