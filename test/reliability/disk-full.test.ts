// The host's disk fills up during a deploy. Where this machine allows it (root, Linux) the host lives on an
// 8 MiB tmpfs and a release that unpacks to 16 MiB really runs out of space; elsewhere the agent's
// test-only FERRY_AGENT_FAIL_WRITE_AFTER_BYTES makes its unpack writes fail with a real ENOSPC error.
// Either way: a clean failure that says the disk is full, the partial release removed, the previous
// release still serving, and the next deploy fine. Which path ran is recorded in docs/reliability.md.
// The download case has no fallback: without the tmpfs it is skipped with the reason, and under CI it
// fails instead (test/support/require-tool.ts), so CI always proves it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentBundle } from '../../pipeline/agent/bundle';
import { hostPaths } from '../../pipeline/agent/host/paths';
import { serviceConfigJson } from '../../pipeline/commands/service-config';
import { ExitCode } from '../../pipeline/exit-codes';
import { deployArgs, destroyHost, freePort, makeHost, runAgent, type TestHost } from '../fixtures/agent-host';
import { type RegistryServer, startRegistryServer } from '../fixtures/registry-server';
import {
  FIXTURE_APP,
  fakeAppFiles,
  innerManifest,
  newSigningKey,
  packArtifact,
  publish,
  publishFakeApp,
  type SigningKey,
} from '../fixtures/releases';
import { type Requirement, skipUnless } from '../support/require-tool';
import { answers, completeCurrent, leftovers } from './support/host-checks';
import { recorded } from './support/record';

const SUITE = 'disk-full';
const exec = promisify(execFile);
const DISK = 8 * 1024 * 1024;
let bundle: string;
let key: SigningKey;
let regDir: string;
let reg: RegistryServer;
let host: TestHost;

/**
 * A size-limited filesystem, when this process may mount one (root on Linux). Mounted while the file is
 * collected, so whether the tmpfs cases run is known up front and goes through the CI guard: outside CI
 * they are skipped with the reason, under CI a failed mount fails them.
 */
async function tryTmpfs(dir: string): Promise<Requirement> {
  // FERRY_RELIABILITY_NO_MOUNT=1 runs the fallback on a machine that could mount, to test it too.
  if (process.env.FERRY_RELIABILITY_NO_MOUNT)
    return { available: false, reason: 'FERRY_RELIABILITY_NO_MOUNT is set: no tmpfs mounted' };
  if (process.platform !== 'linux' || process.getuid?.() !== 0)
    return { available: false, reason: 'mounting a tmpfs needs root on Linux; run as root, as CI does' };
  await mkdir(dir, { recursive: true });
  try {
    await exec('mount', ['-t', 'tmpfs', '-o', `size=${DISK},mode=0755`, 'tmpfs', dir]);
    return { available: true };
  } catch (err) {
    const why = String((err as { stderr?: string }).stderr || (err as Error).message).trim();
    return { available: false, reason: `mount -t tmpfs refused (${why}); run where root may mount` };
  }
}

const work = await mkdtemp(join(tmpdir(), 'ferry-disk-full-'));
const TMPFS = await tryTmpfs(join(work, 'disk'));
const mountPoint = TMPFS.available ? join(work, 'disk') : null;
// Nothing is left behind if the CI guard below refuses the file: beforeAll makes the folder again.
if (!mountPoint) await rm(work, { recursive: true, force: true });

/** makeHost's layout, at a given root (on the small filesystem). */
async function hostAt(root: string, publicKey: string): Promise<TestHost> {
  const paths = hostPaths(root);
  const port = await freePort();
  for (const d of [paths.releases, paths.sharedData, paths.tmp, paths.logs])
    await mkdir(d, { recursive: true });
  await writeFile(paths.trustedKey, `${publicKey}\n`);
  await writeFile(
    paths.serviceConfig,
    serviceConfigJson({
      app: FIXTURE_APP,
      port,
      workers: 1,
      healthTimeoutSec: 10,
      startTimeoutSec: 10,
      drainTimeoutSec: 5,
      nodePath: process.execPath,
    }),
  );
  return { root, paths, port };
}

/** The fake app plus `extra` files, signed and published as `version`. */
async function publishWith(version: string, extra: Record<string, Buffer>) {
  const files = { ...fakeAppFiles(), ...extra };
  const manifest = innerManifest(FIXTURE_APP, version, files);
  return publish(regDir, key, { version, artifact: await packArtifact(manifest, files), manifest });
}

const free = async () => {
  const s = await statfs(host.paths.tmp);
  return s.bavail * s.bsize;
};

beforeAll(async () => {
  key = newSigningKey();
  regDir = join(work, 'registry');
  await mkdir(regDir, { recursive: true });
  const [built, server] = await Promise.all([
    buildAgentBundle(join(work, 'agent')),
    startRegistryServer(regDir),
  ]);
  bundle = built.path;
  reg = server;
  host = mountPoint ? await hostAt(join(mountPoint, 'host'), key.publicKey) : await makeHost(key.publicKey);
  const first = await runAgent(deployArgs(host, reg, await publishFakeApp(regDir, key, '1.0.0')), { bundle });
  expect(first.result?.ok, first.stderr).toBe(true);
});

afterAll(async () => {
  if (host) await destroyHost(host);
  await reg?.close();
  if (mountPoint)
    await exec('umount', [mountPoint]).catch(() => exec('umount', ['-l', mountPoint as string]));
  await rm(work, { recursive: true, force: true });
});

describe.sequential('the disk fills up during a deploy', () => {
  it(
    'while unpacking',
    recorded(
      {
        suite: SUITE,
        case: 'disk full while unpacking',
        proves: 'ENOSPC mid-unpack: refused as disk_full, partial release removed, previous release serving',
      },
      async (note) => {
        const path = mountPoint
          ? `real ENOSPC on an ${DISK / 1024 / 1024} MiB tmpfs (mount)`
          : 'injected ENOSPC (FERRY_AGENT_FAIL_WRITE_AFTER_BYTES=1 MiB): tmpfs mount not permitted';
        const before = await free();
        // 16 MiB of zeros: a 16 KiB artifact, well under the unpack cap, twice the size of the disk.
        const big = await publishWith('2.0.0', { 'app/blob.bin': Buffer.alloc(16 * 1024 * 1024) });
        const run = await runAgent(deployArgs(host, reg, big), {
          bundle,
          env: mountPoint ? {} : { FERRY_AGENT_FAIL_WRITE_AFTER_BYTES: String(1024 * 1024) },
        });
        expect(run.code, run.stderr).toBe(ExitCode.Failure);
        expect(run.result).toMatchObject({
          ok: false,
          rolledBack: false,
          error: { code: 'disk_full', step: 'unpack', remedy: expect.stringMatching(/free space/) },
        });
        expect(run.result?.error.message).toMatch(/^the disk is full: ENOSPC: no space left on device/);
        expect(run.stderr).toMatch(/error: the disk is full/);
        expect(await readdir(host.paths.tmp)).toEqual([]);
        expect(await readdir(host.paths.releases)).toEqual(['1.0.0']);
        expect(await leftovers(host.paths)).toEqual([]);
        // The space the partial release took is given back.
        expect(await free()).toBeGreaterThan(before - 512 * 1024);
        expect(await completeCurrent(host.paths)).toBe('1.0.0');
        expect(await answers(host.port)).toEqual({ health: 200, version: '1.0.0' });

        const next = await runAgent(deployArgs(host, reg, await publishFakeApp(regDir, key, '3.0.0')), {
          bundle,
        });
        expect(next.result, next.stderr).toMatchObject({ ok: true, version: '3.0.0' });
        expect(await answers(host.port)).toEqual({ health: 200, version: '3.0.0' });
        note(`path: ${path}`);
        note(`exit ${run.code}: ${run.result?.error.message.split(' (')[0]}; next deploy 3.0.0 ok`);
      },
    ),
  );

  it.skipIf(skipUnless(TMPFS))(
    'while downloading (tmpfs only)',
    recorded(
      {
        suite: SUITE,
        case: 'disk full while downloading',
        proves: 'ENOSPC while writing the download: disk_full at once (not retried as a network error)',
      },
      async (note) => {
        // Random bytes do not compress: a 12 MiB artifact cannot fit on the 8 MiB disk.
        const big = await publishWith('4.0.0', { 'app/noise.bin': randomBytes(12 * 1024 * 1024) });
        const run = await runAgent(deployArgs(host, reg, big), { bundle });
        expect(run.code, run.stderr).toBe(ExitCode.Failure);
        expect(run.result).toMatchObject({ ok: false, error: { code: 'disk_full', step: 'download' } });
        expect(run.events.filter((e) => e.event === 'retry')).toEqual([]);
        expect(await readdir(host.paths.tmp)).toEqual([]);
        expect(await leftovers(host.paths)).toEqual([]);
        expect(await answers(host.port)).toEqual({ health: 200, version: '3.0.0' });
        note(`path: real ENOSPC on tmpfs; exit ${run.code}, no retries, 3.0.0 serving`);
      },
    ),
  );
});
