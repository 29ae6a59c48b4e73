// Deploy and rollback time against fleet size: 1, 5 and 20 real sshd hosts (the test fleet), all at
// once after the canary ("100%", concurrency 20), a tiny app so ncc and app start-up stay out of it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSigningKeyPair } from '../../pipeline/release/signing';
import { REPO } from '../../test/fixtures/agent-host';
import { fleetHostsYaml } from '../../test/support/config-yaml';
import { type Fleet, startFleet } from '../../test/support/ssh-fleet';
import { type CpuUse, cpuSnapshot, cpuUse } from '../lib/cpu';
import { ferryCli, timeUntilServing } from '../lib/ferry-cli';
import { formatSeconds, ratio } from '../lib/format';
import { freePort } from '../lib/net';
import { ossEnv, ossRegistryYaml, startRegistry } from '../lib/oss';
import type { BenchContext, Part, PartResult } from '../lib/part';
import { packRelease, tinyAppFiles, writeArtifact } from '../lib/releases';

const APP = 'bench-tiny';

interface Row {
  hosts: number;
  fleetStartMs: number;
  setupMs: number;
  firstDeployMs: number;
  deployMs: number;
  deployServingMs: number | null;
  deployCpu: CpuUse;
  /** CPU-seconds of this process during the deploy: the CLI, plus the in-process OSS stand-in and poller. */
  deployCliCpuSec: number;
  rollbackMs: number;
  rollbackServingMs: number | null;
}

export const part: Part = {
  name: 'fleet',
  title: 'Deploy and rollback time vs fleet size',
  async run(ctx: BenchContext): Promise<PartResult> {
    if (process.getuid?.() !== 0) {
      return {
        tables: [],
        data: null,
        skipped: 'needs root: the SSH test fleet creates a user and runs sshd',
      };
    }
    const sizes = ctx.quick ? [1, 5] : [1, 5, 20];
    const oss = await startRegistry();
    ctx.defer(() => oss.close());
    const keys = generateSigningKeyPair();
    const baseEnv = {
      PATH: process.env.PATH,
      HOME: ctx.tmp,
      FERRY_WHO: 'bench@localhost',
      FERRY_SIGNING_KEY: keys.privateKeyPem,
      ...ossEnv(oss),
    };
    const secrets = join(ctx.tmp, 'secrets.env');
    await writeFile(secrets, 'BENCH=1\n');
    const artifacts = [
      await writeArtifact(ctx.tmp, packRelease(APP, '1.0.0', tinyAppFiles())),
      await writeArtifact(ctx.tmp, packRelease(APP, '2.0.0', tinyAppFiles())),
    ];

    const rows: Row[] = [];
    let published = false;
    for (const n of sizes) {
      ctx.log(`starting ${n} sshd host(s)`);
      let t0 = performance.now();
      let fleet: Fleet | undefined;
      try {
        fleet = await startFleet({ count: n });
        ctx.defer(() => fleet?.stop()); // also on an interrupt; stop() is idempotent
        const fleetStartMs = performance.now() - t0;
        const ports = await freePorts(n);
        const configFile = join(ctx.tmp, `releases-${n}.yaml`);
        await writeFile(configFile, configYaml(fleet, ports, keys.publicKey, ossRegistryYaml(oss)));
        const ferry = ferryCli(configFile, ctx.tmp, {
          ...baseEnv,
          FERRY_SSH_KEY: fleet.hosts[0]!.privateKey,
        });
        if (!published) {
          for (const a of artifacts) await ferry.ok('publish', '--artifact', a);
          published = true;
        }
        const env = 'fleet';
        t0 = performance.now();
        await ferry.ok('setup', env, '--env-file', secrets);
        const setupMs = performance.now() - t0;
        ctx.log(`  setup ${formatSeconds(setupMs)}; first deploy of 1.0.0`);
        const first = await ferry.ok('deploy', env, '--version', '1.0.0');

        const cpu0 = cpuSnapshot();
        const self0 = process.cpuUsage();
        const deploy = ferry.ok('deploy', env, '--version', '2.0.0');
        const deployServingMs = await timeUntilServing(ports, '2.0.0', deploy);
        const deployed = await deploy;
        const deployCpu = cpuUse(cpu0, cpuSnapshot(), deployed.ms);
        const self = process.cpuUsage(self0);
        const deployCliCpuSec = (self.user + self.system) / 1e6;
        ctx.log(`  deploy 1.0.0 → 2.0.0: ${formatSeconds(deployed.ms)}`);

        const rollback = ferry.ok('rollback', env);
        const rollbackServingMs = await timeUntilServing(ports, '1.0.0', rollback);
        const rolledBack = await rollback;
        ctx.log(`  rollback 2.0.0 → 1.0.0: ${formatSeconds(rolledBack.ms)}`);
        rows.push({
          hosts: n,
          fleetStartMs,
          setupMs,
          firstDeployMs: first.ms,
          deployMs: deployed.ms,
          deployServingMs,
          deployCpu,
          deployCliCpuSec,
          rollbackMs: rolledBack.ms,
          rollbackServingMs,
        });
      } finally {
        // Stops every sshd and every supervisor and worker running under the fleet's folders.
        await fleet?.stop();
      }
    }

    const one = rows.find((r) => r.hosts === 1);
    return {
      tables: [
        {
          title:
            'Deploy and rollback vs fleet size (sshd hosts on 127.0.0.x, batch 100% after the canary, concurrency 20)',
          columns: [
            { header: 'hosts', right: true },
            { header: 'setup', right: true },
            { header: 'first deploy', right: true },
            { header: 'deploy', right: true },
            { header: 'all on new', right: true },
            { header: 'vs 1 host', right: true },
            { header: 'CPU busy', right: true },
            { header: 'CPU-s/host', right: true },
            { header: 'of which CLI', right: true },
            { header: 'rollback', right: true },
            { header: 'all on old', right: true },
            { header: 'vs 1 host', right: true },
          ],
          rows: rows.map((r) => [
            String(r.hosts),
            formatSeconds(r.setupMs),
            formatSeconds(r.firstDeployMs),
            formatSeconds(r.deployMs),
            formatSeconds(r.deployServingMs),
            ratio(r.deployMs, one?.deployMs),
            `${Math.round(r.deployCpu.busyFraction * 100)}%`,
            (r.deployCpu.cpuSeconds / r.hosts).toFixed(2),
            (r.deployCliCpuSec / r.hosts).toFixed(2),
            formatSeconds(r.rollbackMs),
            formatSeconds(r.rollbackServingMs),
            ratio(r.rollbackMs, one?.rollbackMs),
          ]),
          notes: [
            '`ferry deploy` / `ferry rollback` through the CLI\'s main(), over real SSH to real sshd hosts, registry = the OSS test server (artifact fetched through presigned URLs on its "internal" port).',
            'deploy = 1.0.0 → 2.0.0 on hosts already serving 1.0.0 (download, verify, unpack, switch, reload, health gate); rollback = back to 1.0.0, no download. "all on new/old": when the last host first answered /version with the target, polled every 100 ms. first deploy includes starting each host\'s supervisor.',
            'Tiny one-file app, 1 worker per host, process mode. All hosts share this machine\'s cores: "CPU busy" is the whole machine during the deploy (/proc/stat), "CPU-s/host" the CPU time per host (agent start-up, SSH, unpack, new worker), "of which CLI" the deploying process (the CLI, with the OSS stand-in and the poller that share it). Near 100% busy, growth is this machine running out of cores, not a serial deploy; on a real fleet each host brings its own CPU.',
          ],
        },
      ],
      data: { rows },
    };
  },
};

/** n distinct free loopback ports, held open together while picking so none repeats. */
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function configYaml(fleet: Fleet, ports: number[], publicKey: string, registry: string): string {
  return `app:
  name: ${APP}
  entry: ${join(REPO, 'app', 'server.ts')}
${registry}signing:
  publicKey: ${publicKey}
environments:
  fleet:
    transport: ssh
    user: ${fleet.user}
    path: /nonexistent
    keep: 3
    batch: "100%"
    concurrency: 20
    lockTtlSeconds: 300
    health:
      timeoutSeconds: 60
      intervalMs: 100
    service:
      mode: process
      workers: 1
      bind: 127.0.0.1
${fleetHostsYaml(fleet, ports)}`;
}
