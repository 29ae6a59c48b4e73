// Test what ships: the agent's ncc bundle, installed where setup puts it (.ferry/agent/), deploys a
// release from file:// URLs, runs the supervisor it spawns, and stops it.
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentBundle } from '../../../pipeline/agent/bundle';
import { processCommandLine } from '../../../pipeline/agent/host/proc';
import { AGENT_FEATURES, AGENT_PROTOCOL, AGENT_VERSION } from '../../../pipeline/agent/version';
import {
  deployArgs,
  destroyHost,
  makeHost,
  runAgent,
  servedVersion,
  type TestHost,
} from '../../fixtures/agent-host';
import { type RegistryServer, startRegistryServer } from '../../fixtures/registry-server';
import { newSigningKey, publishFakeApp } from '../../fixtures/releases';

let out: string;
let regDir: string;
let reg: RegistryServer;
let host: TestHost;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'ferry-agent-bundle-'));
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
});

afterAll(async () => {
  if (host) await destroyHost(host);
  await reg.close();
  await rm(out, { recursive: true, force: true });
  await rm(regDir, { recursive: true, force: true });
});

describe('the agent bundle', () => {
  it('builds an ESM folder and deploys with it', async () => {
    const bundle = await buildAgentBundle(join(out, 'agent'));
    expect(bundle.files).toEqual(expect.arrayContaining(['index.js', 'package.json', 'worker-preload.cjs']));
    expect(bundle.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(await readFile(join(out, 'agent', 'package.json'), 'utf8')).type).toBe('module');

    const key = newSigningKey();
    host = await makeHost(key.publicKey);
    await cp(join(out, 'agent'), host.paths.agentDir, { recursive: true });

    const version = await runAgent(['version'], { bundle: host.paths.agentEntry });
    expect(version.result).toEqual({
      event: 'result',
      ok: true,
      op: 'version',
      agentVersion: AGENT_VERSION,
      protocol: AGENT_PROTOCOL,
      node: process.version,
      arch: process.arch,
      glibc: (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header
        .glibcVersionRuntime,
      features: [...AGENT_FEATURES],
    });

    const v1 = await publishFakeApp(regDir, key, '1.0.0');
    const run = await runAgent(deployArgs(host, reg, v1, { file: true }), { bundle: host.paths.agentEntry });
    expect(run.result, run.stderr).toMatchObject({ ok: true, version: '1.0.0' });
    expect(await servedVersion(host.port)).toBe('1.0.0');
    // The supervisor is the bundle too, not the TypeScript source.
    const pid = Number((await readFile(host.paths.supervisorPid, 'utf8')).trim());
    expect(processCommandLine(pid)).toEqual([
      process.execPath,
      host.paths.agentEntry,
      'supervise',
      '--root',
      host.root,
    ]);
    // Its workers load the preload shipped beside the bundle.
    const sup = JSON.parse(await readFile(host.paths.supervisorState, 'utf8'));
    expect(processCommandLine(sup.workers[0].pid)?.slice(0, 3)).toEqual([
      process.execPath,
      '--require',
      join(host.paths.agentDir, 'worker-preload.cjs'),
    ]);

    const stop = await runAgent(['service', 'stop', '--root', host.root], { bundle: host.paths.agentEntry });
    expect(stop.result).toMatchObject({ ok: true, action: 'stop' });
    expect(await servedVersion(host.port)).toBeNull();
  });
});
