// The registry misbehaving under `ferry publish` and `ferry deploy`: the OSS test server (public port for
// the CLI, internal port for the hosts' presigned downloads) with 30% of requests failing (503, connection
// resets, slow answers; seeded, so a run is reproducible) → both still succeed through retries. Fully down
// (503 to everything, the hosts' endpoint only, or the server gone) → a clear error naming the registry,
// a non-zero exit, and every host still serving the old release with no debris.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envLockKey } from '../../pipeline/deploy/env-lock';
import { ExitCode } from '../../pipeline/exit-codes';
import { releaseKeys } from '../../pipeline/release/layout';
import { freePort } from '../fixtures/agent-host';
import { artifactKeyOf, FIXTURE_APP } from '../fixtures/releases';
import { type OssServer, startOssServer } from '../support/oss-server';
import { answers, completeCurrent, leftovers } from './support/host-checks';
import { ENV_NAME, type LocalEnv, startLocalEnv } from './support/local-env';
import { recorded } from './support/record';

const SUITE = 'registry-faults';
const SEED = 20_240_601;
let oss: OssServer;
let env: LocalEnv;
let ossOpen = true;

const lockKey = () => envLockKey(env.prefix, FIXTURE_APP, ENV_NAME);

/** Faults the server applied since the last resetStats(), by kind. */
function faults() {
  const n = (kind: string) => oss.log.filter((e) => e.fault === kind).length;
  return { requests: oss.log.length, fail: n('fail'), reset: n('reset'), slow: n('slow') };
}
const describeFaults = (f: ReturnType<typeof faults>) =>
  `${f.requests} requests: ${f.fail} answered 503, ${f.reset} reset, ${f.slow} slowed`;

async function expectUnchanged(version: string) {
  for (const h of env.hosts) {
    expect(await completeCurrent(h.paths), h.name).toBe(version);
    expect(await answers(h.port), h.name).toEqual({ health: 200, version });
    expect(await leftovers(h.paths), h.name).toEqual([]);
  }
}

beforeAll(async () => {
  oss = await startOssServer({ bucket: 'ferry-releases' });
  env = await startLocalEnv({ hosts: 2, oss });
  await env.publish('1.0.0');
  const setup = await env.ferry('setup', ENV_NAME);
  expect(setup.code, setup.stdout + setup.stderr).toBe(0);
  const first = await env.ferry('deploy', ENV_NAME, '--version', '1.0.0');
  expect(first.code, first.stdout + first.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await env?.close();
  if (ossOpen) await oss?.close();
});

describe.sequential('a flaky registry', () => {
  it(
    'publish succeeds with 30% of requests failing',
    recorded(
      {
        suite: SUITE,
        case: 'ferry publish, 30% of OSS requests failing',
        proves: '503s, resets and slow answers are retried; the stored release is byte-identical',
      },
      async (note) => {
        oss.resetStats();
        // 30% at random, plus one 503 and one body cut short for certain: which requests the random
        // faults hit depends on the order concurrent requests arrive in.
        oss.faults
          .random({ rate: 0.3, kinds: ['503', 'reset', 'slow'], seed: SEED })
          .failNext(1, 503, { op: 'PutObject' })
          .resetNext(1, { op: 'GetObject' });
        try {
          await env.publish('2.0.0');
        } finally {
          oss.faults.clear();
        }
        const keys = releaseKeys(env.prefix, FIXTURE_APP, '2.0.0');
        const local = await readFile(join(env.dir, 'dist', `${FIXTURE_APP}-2.0.0.tar.br`));
        const stored = oss.getObject(artifactKeyOf(env.prefix, FIXTURE_APP, '2.0.0'));
        expect(stored, 'artifact stored').toBeDefined();
        const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
        expect(sha(stored?.body as Uint8Array)).toBe(sha(local));
        expect(oss.getObject(keys.manifest)).toBeDefined();
        expect(oss.getObject(keys.signature)).toBeDefined();
        const f = faults();
        expect(f.fail, describeFaults(f)).toBeGreaterThan(0);
        expect(f.reset, describeFaults(f)).toBeGreaterThan(0);
        const verify = await env.ferry('verify', '2.0.0');
        expect(verify.code, verify.stdout + verify.stderr).toBe(0);
        note(
          '503s and resets hit the upload (30% at random, one of each for certain); stored bytes identical, ferry verify 2.0.0 ok',
        );
      },
    ),
  );

  it(
    'deploy succeeds with 30% of requests failing, downloads included',
    recorded(
      {
        suite: SUITE,
        case: 'ferry deploy, 30% of OSS requests failing',
        proves:
          "the CLI's registry calls and the hosts' presigned downloads (internal endpoint) retry through faults",
      },
      async (note) => {
        oss.resetStats();
        oss.faults
          .random({ rate: 0.3, kinds: ['503', 'reset', 'slow'], seed: SEED + 1 })
          .failNext(1, 503, { port: 'internal' })
          .resetNext(1, { port: 'internal', key: /\.tar\.gz$/ });
        let r: Awaited<ReturnType<LocalEnv['ferry']>>;
        try {
          r = await env.ferry('deploy', ENV_NAME, '--version', '2.0.0');
        } finally {
          oss.faults.clear();
        }
        expect(r.code, r.stdout + r.stderr).toBe(0);
        await expectUnchanged('2.0.0');
        const internal = oss.log.filter((e) => e.port === 'internal');
        // Each host got one whole artifact in the end (a reset download is logged 200, with its fault).
        const whole = internal.filter((e) => e.key.endsWith('.tar.br') && e.status === 200 && !e.fault);
        expect(whole).toHaveLength(2);
        const f = faults();
        const hostFaults = internal.filter((e) => e.fault === 'fail' || e.fault === 'reset').length;
        expect(hostFaults, describeFaults(f)).toBeGreaterThanOrEqual(2);
        expect(r.stdout).toMatch(/ retry \d/);
        // Counts vary with the order concurrent requests arrive in; the row says what was asserted.
        note(
          "hosts' downloads on the internal endpoint failed (503, reset) and were retried; each host got one whole artifact; both hosts on 2.0.0",
        );
      },
    ),
  );
});

describe.sequential('a registry that is down', () => {
  it(
    'every request answered 503',
    recorded(
      {
        suite: SUITE,
        case: 'registry answering 503 to everything',
        proves: 'gives up after bounded retries with an error naming OSS and the registry; no host touched',
      },
      async (note) => {
        await env.publish('3.0.0');
        oss.faults.failNext(1000, 503);
        let r: Awaited<ReturnType<LocalEnv['ferry']>>;
        try {
          r = await env.ferry('deploy', ENV_NAME, '--version', '3.0.0');
        } finally {
          oss.faults.clear();
        }
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/^error: OSS .* failed \(gave up after retries\)/m);
        expect(r.stderr).toMatch(/hint: .*oss:\/\/ferry-releases\/releases/);
        await expectUnchanged('2.0.0');
        note(`exit ${r.code}: ${r.stderr.split('\n')[0]}`);
      },
    ),
  );

  it(
    "the hosts' internal endpoint answering 503",
    recorded(
      {
        suite: SUITE,
        case: "the registry's internal endpoint answering 503 to the hosts",
        proves:
          'the canary gives up after its retries, the rollout halts before any switch, the lock is released',
      },
      async (note) => {
        oss.faults.failNext(1000, 503, { port: 'internal' });
        let r: Awaited<ReturnType<LocalEnv['ferry']>>;
        try {
          r = await env.ferry('deploy', ENV_NAME, '--version', '3.0.0');
        } finally {
          oss.faults.clear();
        }
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(
          /host1\s+FAILED at verify: could not fetch the release manifest: http:\/\/localhost:\d+\/.*manifest\.json\?…: HTTP 503 \(gave up after 5 attempts\)/,
        );
        expect(r.stdout).toMatch(/host2\s+skipped/);
        await expectUnchanged('2.0.0');
        // The environment lock was released: the next run is not blocked.
        const again = await env.ferry('deploy', ENV_NAME, '--version', '3.0.0');
        expect(again.code, again.stdout + again.stderr).toBe(0);
        await expectUnchanged('3.0.0');
        note(
          `exit ${r.code}: download_failed on the canary after 5 attempts; once reachable, 3.0.0 deployed`,
        );
      },
    ),
  );

  it(
    "the hosts' internal endpoint refusing connections",
    recorded(
      {
        suite: SUITE,
        case: "the registry's internal endpoint unreachable (connection refused)",
        proves:
          'the canary retries the refused connection, gives up, the rollout halts before any switch, the lock is released',
      },
      async (note) => {
        await env.publish('3.0.1');
        // internalEndpoint at a loopback port nothing listens on: presigned URLs point there.
        const dead = await freePort();
        const yaml = await readFile(env.configFile, 'utf8');
        await writeFile(
          env.configFile,
          yaml.replace(/internalEndpoint: .*/, `internalEndpoint: http://localhost:${dead}`),
        );
        let r: Awaited<ReturnType<LocalEnv['ferry']>>;
        try {
          r = await env.ferry('deploy', ENV_NAME, '--version', '3.0.1');
        } finally {
          await writeFile(env.configFile, yaml);
        }
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(
          new RegExp(
            `host1\\s+FAILED at verify: could not fetch the release manifest: http://localhost:${dead}/.*manifest\\.json\\?…: connect ECONNREFUSED .*\\(gave up after 5 attempts\\)`,
          ),
        );
        expect(r.stdout).toMatch(/host2\s+skipped/);
        await expectUnchanged('3.0.0');
        expect(oss.getObject(lockKey())).toBeUndefined();
        note(
          `exit ${r.code}: download_failed on the canary (connection refused, 5 attempts); nothing switched, lock released`,
        );
      },
    ),
  );

  it(
    'the lock release failing beyond the registry retries, then healing',
    recorded(
      {
        suite: SUITE,
        case: 'lock release: GETs of the lock corrupted past the registry retries, then healing',
        proves:
          'releasing the environment lock retries on its own budget: the deploy exits 0 and the lock is gone',
      },
      async (note) => {
        await env.publish('3.1.0');
        // One more corrupted answer than a single registry GET retries through (1 + 4 retries).
        oss.faults.corruptNext(5, { key: lockKey() });
        let r: Awaited<ReturnType<LocalEnv['ferry']>>;
        try {
          r = await env.ferry('deploy', ENV_NAME, '--version', '3.1.0');
        } finally {
          oss.faults.clear();
        }
        expect(oss.faults.remaining().corrupt).toBe(0);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stderr).not.toMatch(/lock/);
        expect(oss.getObject(lockKey())).toBeUndefined();
        await expectUnchanged('3.1.0');
        note('5 corrupted GETs of the lock; released on a later try, exit 0, 3.1.0 on both hosts');
      },
    ),
  );

  it(
    'a deploy failing on corrupted GETs, its lock release failing too',
    recorded(
      {
        suite: SUITE,
        case: 'every GET body corrupted: the deploy fails and so does the lock release',
        proves:
          'the CLI says the lock is still held and how to free it (exit 7, in text and --json), never "rerunning is safe"; no host is touched; after ferry unlock the re-run deploys',
      },
      async (note) => {
        await env.publish('3.2.0');
        oss.faults.corruptNext(100_000, {});
        let r: Awaited<ReturnType<LocalEnv['ferry']>>;
        try {
          r = await env.ferry('deploy', ENV_NAME, '--version', '3.2.0', '--json');
        } finally {
          oss.faults.clear();
        }
        expect(r.code, r.stdout + r.stderr).toBe(ExitCode.LockHeld);
        // The run's own error first (the CLI could not read the release manifest, so no host was
        // touched), then the lock, said plainly.
        expect(r.stderr).toMatch(
          /^error: OSS GET releases\/storage\/3\.2\.0\/manifest\.json failed .*corrupted/m,
        );
        expect(r.stderr).toContain(
          `the deploy lock on ${ENV_NAME} is still held by this run; run \`ferry unlock ${ENV_NAME}\`\n`,
        );
        expect(r.stderr).not.toMatch(/rerunning is safe/);
        const out = JSON.parse(r.stdout) as {
          ok: boolean;
          error: { type: string; message: string; remedy: string; exitCode: number };
        };
        expect(out).toMatchObject({
          ok: false,
          error: { type: 'LockHeldError', exitCode: ExitCode.LockHeld },
        });
        expect(out.error.message).toContain(`the deploy lock on ${ENV_NAME} is still held by this run`);
        expect(out.error.remedy).toMatch(/corrupted/);
        expect(out.error.remedy).toContain(`ferry unlock ${ENV_NAME}`);
        await expectUnchanged('3.1.0');
        expect(oss.getObject(lockKey())).toBeDefined();

        const blocked = await env.ferry('deploy', ENV_NAME, '--version', '3.2.0');
        expect(blocked.code).toBe(ExitCode.Locked);
        const unlock = await env.ferry('unlock', ENV_NAME);
        expect(unlock.code, unlock.stderr).toBe(0);
        const again = await env.ferry('deploy', ENV_NAME, '--version', '3.2.0');
        expect(again.code, again.stdout + again.stderr).toBe(0);
        await expectUnchanged('3.2.0');
        note(
          `exit ${r.code}: "the deploy lock on ${ENV_NAME} is still held by this run; run \`ferry unlock ${ENV_NAME}\`"; next deploy exit 4 until ferry unlock, then 3.2.0 deployed`,
        );
      },
    ),
  );

  it(
    'the registry gone entirely',
    recorded(
      {
        suite: SUITE,
        case: 'registry server closed',
        proves: 'connection refused is retried, then reported with the registry named; hosts keep serving',
      },
      async (note) => {
        await env.publish('4.0.0');
        await oss.close();
        ossOpen = false;
        const r = await env.ferry('deploy', ENV_NAME, '--version', '4.0.0');
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/^error: OSS .* failed \(gave up after retries\): .*ECONNREFUSED/m);
        expect(r.stderr).toMatch(/hint: check the network path to oss:\/\/ferry-releases\/releases/);
        await expectUnchanged('3.2.0');
        note(
          `exit ${r.code}: ${(r.stderr.split('\n')[0] ?? '').replace(/(localhost|127\.0\.0\.1):\d+/g, '$1:PORT')}`,
        );
      },
    ),
  );
});
