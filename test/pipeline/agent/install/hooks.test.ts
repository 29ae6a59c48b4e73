// `agent deploy --hook` on one host, through the real agent process: beforeSwitch runs in the new
// release's directory on the Node the release pins (22 here; the agent itself runs on the test's Node)
// with the app's environment, before `current` moves; its failure or timeout stops the host with
// `current` untouched and the release not marked bad; afterSwitch runs after the health gate and its
// failure is reported without undoing anything; an agent killed while a hook runs leaves a journal the
// next run uses to stop the orphaned hook.
import { mkdtemp, readFile, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isProcessAlive } from '../../../../pipeline/agent/host/proc';
import { ExitCode } from '../../../../pipeline/exit-codes';
import type { RuntimePin } from '../../../../pipeline/release/manifest';
import {
  type AgentJson,
  deployArgs,
  destroyHost,
  makeHost,
  runAgent,
  servedVersion,
  type TestHost,
} from '../../../fixtures/agent-host';
import { type RegistryServer, startRegistryServer } from '../../../fixtures/registry-server';
import { newSigningKey, type Published, publishFakeApp, type SigningKey } from '../../../fixtures/releases';
import { packRuntime, publishRuntime } from '../../../fixtures/runtimes';
import { NODE_22, requireTestRuntimes, testRuntime } from '../../../support/node-runtimes';
import { describeIf } from '../../../support/require-tool';

const SECRET = 'hook-secret-value-0123456789';

describeIf(requireTestRuntimes([{ version: NODE_22, arch: 'x64' }]), 'agent deploy hooks', () => {
  let key: SigningKey;
  let regDir: string;
  let reg: RegistryServer;
  let host: TestHost;
  let pin: RuntimePin;
  let serial = 0;

  const publishNext = async () => publishFakeApp(regDir, key, `${++serial}.0.0`, 'ok', undefined, pin);
  const deploy = (rel: Published, hooks: string[], env: NodeJS.ProcessEnv = {}) =>
    runAgent(
      deployArgs(host, reg, rel, {
        extra: [
          '--runtime-url',
          `x64=${reg.url(pin.artifacts.x64?.key as string)}`,
          ...hooks.flatMap((h) => ['--hook', h]),
        ],
      }),
      { env },
    );
  const data = (name: string) => readFile(join(host.paths.sharedData, name), 'utf8');
  const bad = async () => (JSON.parse(await readFile(host.paths.state, 'utf8')) as { bad: string[] }).bad;
  const waitFor = async (name: string) => {
    for (let i = 0; i < 100; i++) {
      const text = await data(name).catch(() => '');
      if (text.trim()) return text.trim();
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${name} never appeared`);
  };

  beforeAll(async () => {
    key = newSigningKey();
    regDir = await mkdtemp(join(tmpdir(), 'ferry-hooks-registry-'));
    reg = await startRegistryServer(regDir);
    const node22 = await testRuntime(NODE_22);
    pin = await publishRuntime(regDir, await packRuntime({ node: node22.binary, version: NODE_22 }));
    host = await makeHost(key.publicKey, { env: { SERVICE_LEVEL: 'from-service-json' } });
    await writeFile(host.paths.sharedEnv, `GREETING=from-shared-env\nHOOK_SECRET=${SECRET}\n`);
    const first = await deploy(await publishNext(), []);
    expect(first.result?.ok, first.stderr).toBe(true);
  }, 180_000);

  afterAll(async () => {
    if (host) await destroyHost(host);
    await reg?.close();
    if (regDir) await rm(regDir, { recursive: true, force: true });
  });

  it('runs beforeSwitch in the new release on its runtime and env before the switch, afterSwitch after the gate', async () => {
    const rel = await publishNext(); // 2.0.0
    const probe = (file: string) =>
      `node -e 'const fs=require("fs");fs.writeFileSync("data/${file}",JSON.stringify({cwd:process.cwd(),node:process.version,current:fs.readlinkSync("../../current"),greeting:process.env.GREETING,level:process.env.SERVICE_LEVEL,nodeEnv:process.env.NODE_ENV,release:process.env.FERRY_RELEASE,previous:process.env.FERRY_PREVIOUS,hook:process.env.FERRY_HOOK}))'`;
    const run = await deploy(rel, [
      `beforeSwitch:30:${probe('before.json')} && echo "migrating with $HOOK_SECRET" && echo done`,
      `afterSwitch:30:${probe('after.json')}`,
    ]);
    expect(run.result, run.stderr).toMatchObject({ ok: true, version: '2.0.0', previous: '1.0.0' });
    const steps = run.events.filter((e) => e.event === 'step').map((e) => e.step);
    expect(steps).toEqual([
      'verify',
      'runtime',
      'download',
      'unpack',
      'link',
      'before-switch',
      'switch',
      'reload',
      'health',
      'after-switch',
      'prune',
    ]);

    const before = JSON.parse(await data('before.json'));
    expect(before).toEqual({
      cwd: await realpath(join(host.paths.releases, '2.0.0')),
      node: `v${NODE_22}`,
      current: 'releases/1.0.0',
      greeting: 'from-shared-env',
      level: 'from-service-json',
      nodeEnv: 'production',
      release: '2.0.0',
      previous: '1.0.0',
      hook: 'beforeSwitch',
    });
    const after = JSON.parse(await data('after.json'));
    expect(after).toMatchObject({ current: 'releases/2.0.0', node: `v${NODE_22}`, hook: 'afterSwitch' });

    const hooks = run.result?.hooks as AgentJson[];
    expect(hooks.map((h) => [h.phase, h.ok, h.exitCode, h.timedOut])).toEqual([
      ['beforeSwitch', true, 0, false],
      ['afterSwitch', true, 0, false],
    ]);
    // Output is kept, with shared/.env values redacted: it goes to the audit log.
    expect(hooks[0]?.output).toEqual(['migrating with [redacted]', 'done']);
    expect(run.stdout).not.toContain(SECRET);
  });

  it('a failing beforeSwitch stops the host before the switch, with its output, and marks nothing bad', async () => {
    const rel = await publishNext(); // 3.0.0
    const run = await deploy(rel, [
      'beforeSwitch:30:echo "applying 0042_add_index"; echo "ERROR: database is unreachable" >&2; exit 3',
    ]);
    expect(run.code).toBe(ExitCode.Failure);
    expect(run.result).toMatchObject({
      ok: false,
      rolledBack: false,
      error: { code: 'hook_failed', step: 'before-switch' },
    });
    expect(run.result?.error.message).toMatch(
      /beforeSwitch hook ".*" failed: exit 3 .*3\.0\.0 was not switched to/,
    );
    expect(run.result?.error.details.hook).toMatchObject({
      ok: false,
      exitCode: 3,
      output: ['applying 0042_add_index', 'ERROR: database is unreachable'],
    });
    expect(await readlink(host.paths.current)).toBe('releases/2.0.0');
    expect(await servedVersion(host.port)).toBe('2.0.0');
    expect(await bad()).not.toContain('3.0.0');
    // Nothing left to recover: the failure was handled, not interrupted.
    await expect(readFile(host.paths.journal)).rejects.toMatchObject({ code: 'ENOENT' });
    // Fixed (here: the hook no longer fails), the same version deploys without --allow-bad.
    const again = await deploy(rel, ['beforeSwitch:30:true']);
    expect(again.result, again.stderr).toMatchObject({ ok: true, version: '3.0.0', reused: true });
    expect(await servedVersion(host.port)).toBe('3.0.0');
  });

  it('a beforeSwitch that outlives its timeout is killed with everything it started', async () => {
    const rel = await publishNext(); // 4.0.0
    const run = await deploy(rel, [
      'beforeSwitch:1:echo $$ > data/timeout-sh.pid; sleep 60 & echo $! > data/timeout-sleep.pid; echo waiting; wait',
    ]);
    expect(run.result).toMatchObject({ ok: false, error: { code: 'hook_failed', step: 'before-switch' } });
    expect(run.result?.error.message).toMatch(/timed out after .* and was killed/);
    expect(run.result?.error.details.hook).toMatchObject({ timedOut: true, output: ['waiting'] });
    for (const f of ['timeout-sh.pid', 'timeout-sleep.pid']) {
      expect(isProcessAlive(Number(await data(f))), f).toBe(false);
    }
    expect(await readlink(host.paths.current)).toBe('releases/3.0.0');
  });

  it('a failing afterSwitch is reported and the release keeps serving', async () => {
    const rel = await publishNext(); // 5.0.0
    const run = await deploy(rel, ['afterSwitch:30:echo "cache warm-up failed"; exit 1']);
    expect(run.result, run.stderr).toMatchObject({ ok: true, version: '5.0.0' });
    expect(run.code).toBe(ExitCode.Ok);
    expect(run.result?.hooks).toMatchObject([
      { phase: 'afterSwitch', ok: false, exitCode: 1, output: ['cache warm-up failed'] },
    ]);
    expect(await readlink(host.paths.current)).toBe('releases/5.0.0');
    expect(await servedVersion(host.port)).toBe('5.0.0');
  });

  it('an agent killed while a hook runs: the next run stops the orphaned hook and deploys', async () => {
    const rel = await publishNext(); // 6.0.0
    const killed = await deploy(rel, ['beforeSwitch:60:echo $$ > data/orphan.pid; exec sleep 60'], {
      FERRY_AGENT_CRASH_AT: 'mid-hook',
    });
    expect(killed.signal).toBe('SIGKILL');
    const orphan = Number(await waitFor('orphan.pid'));
    expect(isProcessAlive(orphan)).toBe(true);
    const journal = JSON.parse(await readFile(host.paths.journal, 'utf8'));
    expect(journal).toMatchObject({ step: 'before-switch', hook: { pid: orphan } });

    const next = await deploy(rel, []);
    expect(next.result, next.stderr).toMatchObject({ ok: true, version: '6.0.0' });
    const recover = next.events.find((e) => e.step === 'recover');
    expect(recover).toMatchObject({ leftoverStep: 'before-switch' });
    expect(isProcessAlive(orphan)).toBe(false);
    const history = (await readFile(host.paths.history, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(history.filter((h) => h.op === 'recover').at(-1)?.note).toMatch(/cleaned: .*stopped its hook/);
  });
});
