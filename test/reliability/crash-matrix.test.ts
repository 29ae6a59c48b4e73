// The agent SIGKILLed at every step of a deploy and of a rollback (FERRY_AGENT_CRASH_AT, test-only: the
// agent kills itself right after journaling the step), and inside the steps that write: half the
// artifact downloaded, part of the release unpacked, the temporary link made but not renamed. After each
// kill `current` still names a complete release, and the next deploy breaks the dead run's lock, recovers
// from its journal, succeeds and leaves no debris. One host, one supervisor, the agent's ncc bundle (what
// hosts run), cases in order.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentBundle } from '../../pipeline/agent/bundle';
import { isProcessAlive } from '../../pipeline/agent/host/proc';
import { ExitCode } from '../../pipeline/exit-codes';
import { deployArgs, destroyHost, makeHost, runAgent, type TestHost } from '../fixtures/agent-host';
import type { FakeAppVariant } from '../fixtures/fake-app';
import { type RegistryServer, startRegistryServer } from '../fixtures/registry-server';
import {
  FIXTURE_APP,
  fakeAppFiles,
  innerManifest,
  newSigningKey,
  type Published,
  packArtifact,
  publish,
  publishFakeApp,
  type SigningKey,
} from '../fixtures/releases';
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
  /** Whether the next deploy of the same release finds it installed (`reused`), where the row says so. */
  reused?: boolean;
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
    proves: 'killed as the download starts: nothing served changed; the next run cleans up and deploys',
  },
  {
    step: 'unpack',
    action: 'cleaned',
    currentAfterKill: 'from',
    proves: 'killed as the unpack starts: the next run sweeps tmp/, leaves no marker-less release, deploys',
  },
  {
    step: 'link',
    action: 'cleaned',
    currentAfterKill: 'from',
    proves: 'killed after the install, before the switch: the complete release is simply reused',
    reused: true,
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
  if (c.reused !== undefined) expect(run.result?.reused).toBe(c.reused);
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
  const reused =
    c.reused === undefined ? '' : c.reused ? ' (reused the installed release)' : ' (downloaded afresh)';
  note(`recovery ${c.action}; next deploy ${next.version} ok${reused}; dead lock broken; no debris`);
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

/** The fake app plus 1 MiB that does not compress: a download of many chunks, an unpack of several files. */
async function publishBig() {
  const version = `1.${++serial}.0`;
  const files = { ...fakeAppFiles(), 'app/padding.bin': randomBytes(1024 * 1024) };
  const manifest = innerManifest(FIXTURE_APP, version, files);
  return publish(regDir, key, { version, artifact: await packArtifact(manifest, files), manifest });
}

const tmpNames = async () => readdir(host.paths.tmp);

describe.sequential('agent SIGKILLed inside a step, with bytes half-written', () => {
  it(
    'mid-download',
    recorded(
      {
        suite: SUITE,
        case: 'deploy killed mid-download',
        proves:
          'killed with half the artifact written to tmp/: that partial download is swept by the next run, which downloads afresh',
      },
      async (note) => {
        const from = await completeCurrent(host.paths);
        const target = await publishBig();
        const size = target.manifest.artifact?.size as number;
        const crashed = await deploy(target, [], { FERRY_AGENT_CRASH_AT: 'mid-download' });
        const c: CrashCase = {
          step: 'download',
          action: 'cleaned',
          currentAfterKill: 'from',
          proves: '',
          reused: false,
        };
        await expectKilled(crashed, c, 'deploy', from, target.version);
        const partial = (await tmpNames()).filter((n) => n.startsWith(`download-${target.version}-`));
        expect(partial).toHaveLength(1);
        const written = (await stat(join(host.paths.tmp, partial[0] as string))).size;
        expect(written).toBeGreaterThanOrEqual(size / 2);
        expect(written).toBeLessThan(size);
        note(
          `after the kill: a partial download in tmp/ (at least half, not all, of the artifact), current=${await completeCurrent(host.paths)}`,
        );
        await expectNextDeploy(c, 'deploy', target, note);
      },
    ),
  );

  it(
    'mid-unpack',
    recorded(
      {
        suite: SUITE,
        case: 'deploy killed mid-unpack',
        proves:
          'killed with part of the release written to staging: staging and the download are swept, no marker-less release is left, the next run installs it afresh',
      },
      async (note) => {
        const from = await completeCurrent(host.paths);
        const target = await publishBig();
        const crashed = await deploy(target, [], { FERRY_AGENT_CRASH_AT: 'mid-unpack' });
        const c: CrashCase = {
          step: 'unpack',
          action: 'cleaned',
          currentAfterKill: 'from',
          proves: '',
          reused: false,
        };
        await expectKilled(crashed, c, 'deploy', from, target.version);
        const names = await tmpNames();
        expect(names.filter((n) => n.startsWith(`download-${target.version}-`))).toHaveLength(1);
        const staging = names.filter((n) => n.startsWith(`unpack-${target.version}-`));
        expect(staging).toHaveLength(1);
        const dir = join(host.paths.tmp, staging[0] as string);
        const written = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) =>
          e.isFile(),
        );
        expect(written.length).toBeGreaterThan(0);
        // Part of the release, not all of it: at least one of its files is missing or incomplete.
        const files = target.manifest.files ?? [];
        let complete = 0;
        for (const f of files) {
          const bytes = await readFile(join(dir, f.path)).catch(() => null);
          if (bytes && createHash('sha256').update(bytes).digest('hex') === f.sha256) complete++;
        }
        expect(complete).toBeLessThan(files.length);
        expect(await readdir(host.paths.releases)).not.toContain(target.version);
        note(
          `after the kill: part of the release in staging beside the whole download; current=${await completeCurrent(host.paths)}`,
        );
        await expectNextDeploy(c, 'deploy', target, note);
      },
    ),
  );

  it(
    'between the temporary link and the rename',
    recorded(
      {
        suite: SUITE,
        case: 'deploy killed between the temporary link and the rename',
        proves:
          'killed with current.tmp-* made but not renamed: `current` still names the old release, the stray link is swept, and the installed release is reused',
      },
      async (note) => {
        const from = await completeCurrent(host.paths);
        const target = await publishNext();
        const crashed = await deploy(target, [], { FERRY_AGENT_CRASH_AT: 'mid-switch' });
        const c: CrashCase = {
          step: 'switch',
          action: 'undone',
          currentAfterKill: 'from',
          proves: '',
          reused: true,
        };
        await expectKilled(crashed, c, 'deploy', from, target.version);
        const stray = (await readdir(host.root)).filter((n) => n.startsWith('current.tmp-'));
        expect(stray).toHaveLength(1);
        expect(await readlink(join(host.root, stray[0] as string))).toBe(`releases/${target.version}`);
        note(
          `after the kill: current=${await completeCurrent(host.paths)}, a current.tmp-* link to ${target.version} beside it`,
        );
        await expectNextDeploy(c, 'deploy', target, note);
      },
    ),
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
