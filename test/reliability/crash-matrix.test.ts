// The agent SIGKILLed at every step of a deploy and of a rollback (FERRY_AGENT_CRASH_AT, test-only: the
// agent kills itself right after journaling the step). After each kill `current` still names a complete
// release, and the next deploy breaks the dead run's lock, recovers from its journal, succeeds and leaves
// no debris. One host, one supervisor, the agent's ncc bundle (what hosts run), cases in order.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentBundle } from '../../pipeline/agent/bundle';
import { isProcessAlive } from '../../pipeline/agent/host/proc';
import { ExitCode } from '../../pipeline/exit-codes';
import { deployArgs, destroyHost, makeHost, runAgent, type TestHost } from '../fixtures/agent-host';
import type { FakeAppVariant } from '../fixtures/fake-app';
import { type RegistryServer, startRegistryServer } from '../fixtures/registry-server';
import { newSigningKey, type Published, publishFakeApp, type SigningKey } from '../fixtures/releases';
import { answers, completeCurrent, historyOf, leftovers } from './support/host-checks';
import { recorded } from './support/record';

const SUITE = 'crash-matrix';
let work: string;
let bundle: string;
let key: SigningKey;
let reg: RegistryServer;
let regDir: string;
let host: TestHost;
let serial = 0;

const agent = (args: string[], env: NodeJS.ProcessEnv = {}) => runAgent(args, { bundle, env });
const publishNext = (variant: FakeAppVariant = 'ok') =>
  publishFakeApp(regDir, key, `1.${++serial}.0`, variant);
const deploy = (rel: Published, extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  agent(deployArgs(host, reg, rel, { extra }), env);
// An unhealthy release fails its gate in 1 s instead of the host's 10.
const FAST_GATE = ['--health-timeout', '1'];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ferry-crash-matrix-'));
  key = newSigningKey();
  regDir = join(work, 'registry');
  await mkdir(regDir);
  const [built, server] = await Promise.all([
    buildAgentBundle(join(work, 'agent')),
    startRegistryServer(regDir),
  ]);
  bundle = built.path;
  reg = server;
  host = await makeHost(key.publicKey);
  const first = await deploy(await publishNext());
  expect(first.result?.ok, first.stderr).toBe(true);
});

afterAll(async () => {
  if (host) await destroyHost(host);
  await reg?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

interface CrashCase {
  step: string;
  /** What the next run's recovery does with the leftover journal (docs/agent.md). */
  action: 'cleaned' | 'undone' | 'finished';
  /** Where `current` is right after the kill. */
  currentAfterKill: 'from' | 'target';
  proves: string;
}

const DEPLOY: CrashCase[] = [
  {
    step: 'verify',
    action: 'cleaned',
    currentAfterKill: 'from',
    proves: 'killed while fetching the signed manifest: nothing served changed',
  },
  {
    step: 'download',
    action: 'cleaned',
    currentAfterKill: 'from',
    proves: 'killed mid-download: the partial artifact in tmp/ is swept by the next run',
  },
  {
    step: 'unpack',
    action: 'cleaned',
    currentAfterKill: 'from',
    proves: 'killed mid-unpack: staging and download are swept, no marker-less release is left',
  },
  {
    step: 'link',
    action: 'cleaned',
    currentAfterKill: 'from',
    proves: 'killed after the install, before the switch: the complete release is simply reused',
  },
  {
    step: 'switch',
    action: 'undone',
    currentAfterKill: 'from',
    proves: 'killed at the switch: `current` is the old or the new link, never missing',
  },
  {
    step: 'reload',
    action: 'undone',
    currentAfterKill: 'target',
    proves: 'killed between switch and reload: the next run switches back, reloads, then deploys',
  },
  {
    step: 'health',
    action: 'undone',
    currentAfterKill: 'target',
    proves: 'killed during the health gate: an unverified release is undone, not trusted',
  },
  {
    step: 'prune',
    action: 'finished',
    currentAfterKill: 'target',
    proves: 'killed while pruning: the deploy had passed its gate and stays committed',
  },
  {
    step: 'revert',
    action: 'undone',
    currentAfterKill: 'target',
    proves: 'killed while switching back from a release that failed its gate: finished, and it is marked bad',
  },
];

const ROLLBACK: CrashCase[] = [
  {
    step: 'link',
    action: 'cleaned',
    currentAfterKill: 'from',
    proves: 'rollback killed before the switch: nothing served changed',
  },
  {
    step: 'switch',
    action: 'undone',
    currentAfterKill: 'from',
    proves: 'rollback killed at the switch: `current` still valid',
  },
  {
    step: 'reload',
    action: 'undone',
    currentAfterKill: 'target',
    proves: 'rollback killed before the reload: switched back to where it started',
  },
  {
    step: 'health',
    action: 'undone',
    currentAfterKill: 'target',
    proves: 'rollback killed during its health gate: undone, the target is not trusted unverified',
  },
  {
    step: 'revert',
    action: 'undone',
    currentAfterKill: 'target',
    proves: 'rollback onto a failing release killed while switching back: finished, target marked bad',
  },
];

async function readJournal() {
  return JSON.parse(await readFile(host.paths.journal, 'utf8')) as Record<string, unknown>;
}

async function stateBad(): Promise<string[]> {
  return (JSON.parse(await readFile(host.paths.state, 'utf8')) as { bad: string[] }).bad;
}

/** After a kill: SIGKILLed with no result, journal naming the step, a lock of a dead pid, `current` valid. */
async function expectKilled(
  run: Awaited<ReturnType<typeof agent>>,
  c: CrashCase,
  op: 'deploy' | 'rollback',
  from: string,
  target: string,
) {
  expect(run.signal, run.stderr).toBe('SIGKILL');
  expect(run.result).toBeUndefined();
  const j = await readJournal();
  expect(j).toMatchObject({ op, version: target, from, step: c.step });
  const lock = JSON.parse(await readFile(host.paths.lockInfo, 'utf8')) as { pid: number };
  expect(lock.pid).toBe(j.pid);
  expect(isProcessAlive(lock.pid)).toBe(false);
  expect(await completeCurrent(host.paths)).toBe(c.currentAfterKill === 'from' ? from : target);
  // Something still answers: the old workers, or the new ones when the kill came after the reload.
  expect([from, target]).toContain((await answers(host.port)).version);
}

/** The next deploy: breaks the dead lock, recovers the journal, deploys, and leaves a clean host. */
async function expectNextDeploy(
  c: CrashCase,
  op: 'deploy' | 'rollback',
  next: Published,
  note: (d: string) => void,
) {
  const historyBefore = (await historyOf(host.paths)).length;
  const run = await deploy(next);
  expect(run.result, run.stderr).toMatchObject({ ok: true, version: next.version });
  expect(run.events.find((e) => e.step === 'recover')).toMatchObject({
    leftoverStep: c.step,
    leftoverOp: op,
  });
  const added = (await historyOf(host.paths)).slice(historyBefore);
  expect(added.find((h) => h.op === 'unlock')?.note).toMatch(/no longer running/);
  expect(String(added.find((h) => h.op === 'recover')?.note)).toMatch(new RegExp(`^${c.action}:`));
  expect(await completeCurrent(host.paths)).toBe(next.version);
  expect(await answers(host.port)).toEqual({ health: 200, version: next.version });
  expect(await leftovers(host.paths)).toEqual([]);
  note(`recovery ${c.action}; next deploy ${next.version} ok; dead lock broken; no debris`);
}

describe.sequential('agent SIGKILLed at each step', () => {
  it.each(DEPLOY)('deploy, killed at $step', (c) =>
    recorded({ suite: SUITE, case: `deploy killed at ${c.step}`, proves: c.proves }, async (note) => {
      const from = await completeCurrent(host.paths);
      const unhealthy = c.step === 'revert';
      const target = await publishNext(unhealthy ? 'unhealthy' : 'ok');
      const crashed = await deploy(target, unhealthy ? FAST_GATE : [], { FERRY_AGENT_CRASH_AT: c.step });
      await expectKilled(crashed, c, 'deploy', from, target.version);
      note(`after the kill current=${await completeCurrent(host.paths)} (complete)`);
      // A release that failed its gate is not deployed again; a fresh one is.
      const next = unhealthy ? await publishNext() : target;
      await expectNextDeploy(c, 'deploy', next, note);
      if (unhealthy) expect(await stateBad()).toContain(target.version);
    })(),
  );

  it.each(ROLLBACK)('rollback, killed at $step', (c) =>
    recorded({ suite: SUITE, case: `rollback killed at ${c.step}`, proves: c.proves }, async (note) => {
      const previous = await completeCurrent(host.paths);
      const from = await publishNext();
      expect((await deploy(from)).result?.ok).toBe(true);
      let target = previous;
      let args = ['rollback', '--root', host.root, '--who', 'tester@vitest'];
      if (c.step === 'revert') {
        // A release that fails its gate, installed and marked bad by a failed deploy, rolled back onto.
        const bad = await publishNext('unhealthy');
        const failed = await deploy(bad, FAST_GATE);
        expect(failed.result, failed.stderr).toMatchObject({ ok: false, rolledBack: true });
        target = bad.version;
        args = [...args, '--to', bad.version, '--allow-bad', ...FAST_GATE];
      }
      const crashed = await agent(args, { FERRY_AGENT_CRASH_AT: c.step });
      await expectKilled(crashed, c, 'rollback', from.version, target);
      note(`after the kill current=${await completeCurrent(host.paths)} (complete)`);
      await expectNextDeploy(c, 'rollback', await publishNext(), note);
      if (c.step === 'revert') expect(await stateBad()).toContain(target);
    })(),
  );
});

describe.sequential('host locks left behind', () => {
  const plantLock = async (expiresAt: Date) => {
    await mkdir(host.paths.lock, { recursive: true });
    await writeFile(
      host.paths.lockInfo,
      JSON.stringify({
        holder: 'ci@build-7/4242',
        who: 'ci@build-7',
        pid: 4242,
        // Another machine: its pid means nothing here, so only the expiry can free the lock.
        machine: `not-${hostname()}`,
        op: 'deploy',
        version: '9.9.9',
        since: new Date(Date.now() - 3_600_000).toISOString(),
        expiresAt: expiresAt.toISOString(),
      }),
    );
  };

  it(
    'a live lock from another machine blocks the deploy',
    recorded(
      {
        suite: SUITE,
        case: 'fresh lock from another machine',
        proves: 'a lock whose expiry has not passed is honoured: exit 4, the holder named, nothing changed',
      },
      async (note) => {
        const before = await completeCurrent(host.paths);
        await plantLock(new Date(Date.now() + 600_000));
        try {
          const run = await deploy(await publishNext());
          expect(run.code).toBe(ExitCode.Locked);
          expect(run.result?.error).toMatchObject({ code: 'locked' });
          expect(run.result?.error.message).toMatch(/locked by ci@build-7\/4242 \(deploy 9\.9\.9\)/);
          expect(await completeCurrent(host.paths)).toBe(before);
          expect((await answers(host.port)).version).toBe(before);
          note(`exit ${run.code}: ${String(run.result?.error.message).split(' since ')[0]}`);
        } finally {
          await rm(host.paths.lock, { recursive: true, force: true });
        }
      },
    ),
  );

  it(
    'an expired lock from another machine is broken',
    recorded(
      {
        suite: SUITE,
        case: 'expired lock from another machine',
        proves: 'a dead holder elsewhere blocks only until expiresAt; then the lock is broken with a note',
      },
      async (note) => {
        await plantLock(new Date(Date.now() - 1000));
        const next = await publishNext();
        const run = await deploy(next);
        expect(run.result, run.stderr).toMatchObject({ ok: true, version: next.version });
        const unlock = (await historyOf(host.paths)).filter((h) => h.op === 'unlock').at(-1);
        expect(unlock?.note).toMatch(/held by ci@build-7\/4242 expired at/);
        expect(await leftovers(host.paths)).toEqual([]);
        note(String(unlock?.note).split(' expired at ')[0] + ' expired: broken, deploy ok');
      },
    ),
  );
});
