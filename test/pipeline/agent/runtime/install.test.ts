// Releases that pin a Node runtime: the agent installs the runtime once (checked against the signed
// manifest before unpacking), the supervisor runs the release's workers on it, releases share it, a host
// that cannot run it is refused before anything changes, and prune keeps exactly what is pinned.
import { mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimePin } from '../../../../pipeline/release/manifest';
import {
  deployArgs,
  destroyHost,
  httpGet,
  makeHost,
  runAgent,
  type TestHost,
} from '../../../fixtures/agent-host';
import { type RegistryServer, startRegistryServer } from '../../../fixtures/registry-server';
import { newSigningKey, type Published, publishFakeApp, type SigningKey } from '../../../fixtures/releases';
import { type PackedRuntime, packRuntime, publishRuntime } from '../../../fixtures/runtimes';

let regDir: string;
let reg: RegistryServer;
let host: TestHost;
let key: SigningKey;
let rtA: PackedRuntime;
let rtB: PackedRuntime;
let pinA: RuntimePin;
let pinB: RuntimePin;

const rtUrl = (pin: RuntimePin) => `x64=${reg.url(pin.artifacts.x64?.key as string)}`;
const deployWith = (rel: Published, pin: RuntimePin | null, extra: string[] = []) =>
  runAgent(deployArgs(host, reg, rel, { extra: [...(pin ? ['--runtime-url', rtUrl(pin)] : []), ...extra] }));
const served = async () => JSON.parse((await httpGet(host.port, '/version'))?.body ?? '{}');

beforeAll(async () => {
  key = newSigningKey();
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
  // Two builds of the running Node (different gzip levels, so different bytes and sha256).
  rtA = await packRuntime({ level: 1 });
  rtB = await packRuntime({ level: 2 });
  pinA = await publishRuntime(regDir, rtA);
  pinB = await publishRuntime(regDir, rtB);
  host = await makeHost(key.publicKey, { workers: 2, keepReleases: 1 });
}, 120_000);

afterAll(async () => {
  await destroyHost(host);
  await reg.close();
  await rm(regDir, { recursive: true, force: true });
});

describe.sequential('runtimes on a host', () => {
  it('installs the pinned runtime once, checked, and runs the workers on it', async () => {
    const rel = await publishFakeApp(regDir, key, '1.0.0', 'ok', undefined, pinA);
    const run = await deployWith(rel, pinA);
    expect(run.result, run.stderr).toMatchObject({
      ok: true,
      runtime: { node: process.versions.node, arch: 'x64', reused: false },
    });
    const dir = join(host.paths.runtimes, `${process.versions.node}-x64`);
    const marker = JSON.parse(await readFile(join(dir, '.ferry-runtime.json'), 'utf8'));
    expect(marker).toMatchObject({
      name: 'node',
      version: process.versions.node,
      arch: 'x64',
      sha256: rtA.sha256,
    });
    expect((await stat(join(dir, 'bin', 'node'))).mode & 0o777).toBe(0o555);
    const body = await served();
    expect(body.version).toBe('1.0.0');
    expect(body.execPath).toBe(join(dir, 'bin', 'node'));
    const sup = JSON.parse(await readFile(host.paths.supervisorState, 'utf8'));
    expect(sup.runtime).toEqual({ node: process.versions.node, path: join(dir, 'bin', 'node') });
  });

  it('a second release on the same runtime downloads nothing for it', async () => {
    const rel = await publishFakeApp(regDir, key, '1.1.0', 'ok', undefined, pinA);
    const before = reg.hits(pinA.artifacts.x64?.key as string);
    const run = await deployWith(rel, pinA);
    expect(run.result, run.stderr).toMatchObject({ ok: true, runtime: { reused: true } });
    expect(reg.hits(pinA.artifacts.x64?.key as string)).toBe(before);
  });

  it('refuses runtime bytes that do not match the signed manifest, before unpacking, and changes nothing', async () => {
    const tampered = Buffer.from(rtB.bytes);
    tampered[tampered.length - 100] = (tampered[tampered.length - 100] ?? 0) ^ 0xff;
    const pin = await publishRuntime(regDir, rtB, { bytes: tampered });
    const rel = await publishFakeApp(regDir, key, '1.2.0', 'ok', undefined, pin);
    const run = await deployWith(rel, pin);
    expect(run.result).toMatchObject({ ok: false, error: { code: 'artifact_mismatch', step: 'runtime' } });
    expect(await readdir(host.paths.runtimes)).toEqual([`${process.versions.node}-x64`]);
    expect(await readdir(host.paths.releases)).not.toContain('1.2.0');
    expect(await readlink(host.paths.current)).toBe('releases/1.1.0');
    // The good object back under its key for the tests below.
    await publishRuntime(regDir, rtB);
  });

  it('refuses a runtime this host cannot run (C library, arch) before downloading anything', async () => {
    const hits = reg.totalHits();
    const tooNew = {
      ...pinB,
      artifacts: {
        x64: { ...(pinB.artifacts.x64 as NonNullable<RuntimePin['artifacts']['x64']>), glibc: '2.999' },
      },
    };
    const relA = await publishFakeApp(regDir, key, '1.3.0', 'ok', undefined, tooNew);
    const a = await deployWith(relA, tooNew);
    expect(a.result).toMatchObject({ ok: false, error: { code: 'runtime_unsupported', step: 'runtime' } });
    expect(a.result?.error.message).toMatch(/needs glibc 2\.999 or newer; this host has glibc 2\.\d+/);

    const armOnly: RuntimePin = { ...pinB, artifacts: { arm64: pinB.artifacts.x64 } };
    const relB = await publishFakeApp(regDir, key, '1.4.0', 'ok', undefined, armOnly);
    const b = await deployWith(relB, null);
    expect(b.result).toMatchObject({ ok: false, error: { code: 'runtime_unsupported' } });
    expect(b.result?.error.message).toContain('this host is x64; 1.4.0 ships Node');
    expect(b.result?.error.remedy).toContain('add x64 to app.runtime.arch');
    // Only the two small manifests and signatures were read: no artifact, no runtime.
    expect(reg.totalHits() - hits).toBe(4);
    expect(await readlink(host.paths.current)).toBe('releases/1.1.0');
  });

  it('another build of the same version lives beside the first, and prune removes the one nothing pins', async () => {
    const rel = await publishFakeApp(regDir, key, '2.0.0', 'ok', undefined, pinB);
    const run = await deployWith(rel, pinB);
    expect(run.result, run.stderr).toMatchObject({ ok: true, runtime: { reused: false } });
    const bDir = join(host.paths.runtimes, `${process.versions.node}-x64-${rtB.sha256.slice(0, 12)}`);
    expect((await served()).execPath).toBe(join(bDir, 'bin', 'node'));
    // keep 1: 2.0.0 is current, 1.1.0 previous; 1.0.0 goes, but runtime A is still pinned by 1.1.0.
    expect(run.result?.runtimesPruned).toBeUndefined();

    const next = await publishFakeApp(regDir, key, '2.1.0', 'ok', undefined, pinB);
    const run2 = await deployWith(next, pinB);
    expect(run2.result, run2.stderr).toMatchObject({ ok: true, runtime: { reused: true } });
    // Now 1.1.0 is gone too, and with it the last release on runtime A.
    expect(run2.result?.runtimesPruned).toEqual([join(host.paths.runtimes, `${process.versions.node}-x64`)]);
    expect(await readdir(host.paths.runtimes)).toEqual([
      `${process.versions.node}-x64-${rtB.sha256.slice(0, 12)}`,
    ]);
  });
});
