// The ferry CLI (bin/ferry.js, a child process) SIGKILLed in the middle of a rollout over 3 local hosts:
// once exactly between two hosts (FERRY_CLI_CRASH_AFTER_HOSTS, test-only), once together with the agent
// it was running (its whole process group, as a cancelled CI job's runner does). The fleet is left split
// and the environment lock stays behind; re-running converges every host on one version, once the lock
// has expired or after `ferry unlock`, while a fresh lock still blocks.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CRASH_ENV } from '../../pipeline/deploy/crash-hook';
import { envLockKey } from '../../pipeline/deploy/env-lock';
import { ExitCode } from '../../pipeline/exit-codes';
import { environmentKey } from '../../pipeline/release/layout';
import { FIXTURE_APP } from '../fixtures/releases';
import { answers, completeCurrent, historyOf, leftovers } from './support/host-checks';
import { ENV_NAME, type LocalEnv, startLocalEnv } from './support/local-env';
import { recorded } from './support/record';

const SUITE = 'cli-crash';
let env: LocalEnv;
let lockFile: string;

const served = async () => Promise.all(env.hosts.map(async (h) => (await answers(h.port)).version));

async function expectConverged(version: string) {
  for (const h of env.hosts) {
    expect(await completeCurrent(h.paths), h.name).toBe(version);
    expect(await answers(h.port), h.name).toEqual({ health: 200, version });
    expect(await leftovers(h.paths), h.name).toEqual([]);
  }
  const record = JSON.parse(
    await readFile(
      join(env.registryDir as string, environmentKey(env.prefix, FIXTURE_APP, ENV_NAME)),
      'utf8',
    ),
  ) as { version: string };
  expect(record.version).toBe(version);
  await expect(readFile(lockFile)).rejects.toThrow();
}

beforeAll(async () => {
  // One host at a time, so the CLI can be killed between hosts (a rollback otherwise takes every host
  // at once).
  env = await startLocalEnv({ hosts: 3, lockTtlSeconds: 30, concurrency: 1 });
  lockFile = join(env.registryDir as string, envLockKey(env.prefix, FIXTURE_APP, ENV_NAME));
  for (const v of ['1.0.0', '2.0.0', '3.0.0']) await env.publish(v);
  const setup = await env.ferry('setup', ENV_NAME);
  expect(setup.code, setup.stdout + setup.stderr).toBe(0);
  const first = await env.ferry('deploy', ENV_NAME, '--version', '1.0.0');
  expect(first.code, first.stdout + first.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await env?.close();
});

describe.sequential('ferry killed mid-rollout', () => {
  it(
    'killed between hosts: a fresh lock blocks, the expired lock is broken, the re-run converges',
    recorded(
      {
        suite: SUITE,
        case: 'CLI killed after the canary (between hosts)',
        proves:
          'a split fleet and a left-behind env lock: the fresh lock blocks (exit 4), once expired it is broken and the re-run converges all 3 hosts',
      },
      async (note) => {
        const killed = await env.ferryChild(['deploy', ENV_NAME, '--version', '2.0.0'], {
          env: { [CLI_CRASH_ENV]: '1' },
        });
        expect(killed.signal, killed.stdout + killed.stderr).toBe('SIGKILL');
        expect(killed.stdout).toMatch(/host1\s+serving 2\.0\.0 \(was 1\.0\.0\)/);
        expect(await served()).toEqual(['2.0.0', '1.0.0', '1.0.0']);
        const lock = JSON.parse(await readFile(lockFile, 'utf8')) as { who: string; expiresAt: string };
        expect(lock.who).toBe('reliability@test');

        // Straight away the lock is fresh: the re-run is refused and changes nothing.
        const blocked = await env.ferry('deploy', ENV_NAME, '--version', '2.0.0');
        expect(blocked.code).toBe(ExitCode.Locked);
        expect(blocked.stderr).toMatch(
          /local is locked by reliability@test since .*\n.*run ferry unlock local if that run is dead/,
        );
        expect(await served()).toEqual(['2.0.0', '1.0.0', '1.0.0']);

        // lockTtlSeconds (30 s) later, as far as the lock is concerned: its expiry moved into the past.
        await writeFile(
          lockFile,
          `${JSON.stringify({ ...lock, expiresAt: new Date(Date.now() - 1000).toISOString() })}\n`,
        );
        const rerun = await env.ferryChild(['deploy', ENV_NAME, '--version', '2.0.0']);
        expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
        expect(rerun.stdout).toMatch(/broke an expired lock held by reliability@test/);
        await expectConverged('2.0.0');
        note('killed with host1 on 2.0.0, host2-3 on 1.0.0; re-run blocked with exit 4 while fresh');
        note('expired lock broken; all 3 hosts serve 2.0.0, env record 2.0.0, no debris');
      },
    ),
  );

  it(
    'killed with its agent mid-host: `ferry unlock`, then the re-run recovers that host and converges',
    recorded(
      {
        suite: SUITE,
        case: 'CLI and its agent killed mid-host (process group)',
        proves:
          'an agent killed with the CLI after switching host2 leaves a journal; after ferry unlock the re-run recovers host2 from it (undone) and converges',
      },
      async (note) => {
        let sent = false;
        const killed = await env.ferryChild(['deploy', ENV_NAME, '--version', '3.0.0'], {
          detached: true,
          onLine: (line, child) => {
            // The CLI prints an agent's step as it starts: kill CLI and agent once host2 is switching.
            if (!sent && /^\s+host2\s+switch$/.test(line) && child.pid) {
              sent = true;
              process.kill(-child.pid, 'SIGKILL');
            }
          },
        });
        expect(sent, killed.stdout).toBe(true);
        expect(killed.signal).toBe('SIGKILL');
        const [h1, h2, h3] = env.hosts;
        expect(await completeCurrent(h1!.paths)).toBe('3.0.0');
        expect(['2.0.0', '3.0.0']).toContain(await completeCurrent(h2!.paths));
        expect(await completeCurrent(h3!.paths)).toBe('2.0.0');
        // host2's agent died mid-operation: its journal names a step from the switch on.
        const journal = JSON.parse(await readFile(h2!.paths.journal, 'utf8')) as { op: string; step: string };
        expect(journal.op).toBe('deploy');
        expect(['switch', 'reload', 'health']).toContain(journal.step);
        const historyBefore = (await historyOf(h2!.paths)).length;

        const unlock = await env.ferry('unlock', ENV_NAME);
        expect(unlock.code, unlock.stderr).toBe(0);
        expect(unlock.stdout).toMatch(/removed the lock held by reliability@test/);
        const rerun = await env.ferryChild(['deploy', ENV_NAME, '--version', '3.0.0']);
        expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
        await expectConverged('3.0.0');
        // The re-run recovered host2 from that journal (undone: back to 2.0.0), then deployed.
        expect(rerun.stdout).toMatch(/^\s+host2\s+recover$/m);
        const added = (await historyOf(h2!.paths)).slice(historyBefore);
        expect(added.filter((e) => e.op === 'recover').map((e) => String(e.note))).toEqual([
          expect.stringMatching(
            new RegExp(
              `^undone: deploy 3\\.0\\.0 was interrupted at ${journal.step}; current back on 2\\.0\\.0`,
            ),
          ),
        ]);
        note(
          'host2 agent killed after its switch began (journal left); the re-run recovered it from the journal (undone)',
        );
        note('all 3 hosts serve 3.0.0, no journal, no lock, no debris');
      },
    ),
  );

  it(
    'killed between hosts of a rollback: re-running `ferry rollback --to` converges',
    recorded(
      {
        suite: SUITE,
        case: 'CLI killed mid-rollback (between hosts)',
        proves:
          'a rollback re-run after a kill brings every host to the same release, hosts already there included',
      },
      async (note) => {
        const killed = await env.ferryChild(['rollback', ENV_NAME, '--to', '2.0.0'], {
          env: { [CLI_CRASH_ENV]: '1' },
        });
        expect(killed.signal, killed.stdout + killed.stderr).toBe('SIGKILL');
        expect(await served()).toEqual(['2.0.0', '3.0.0', '3.0.0']);
        expect((await env.ferry('unlock', ENV_NAME)).code).toBe(0);
        // A plain rollback now would step host1 back again, past 2.0.0: it is refused, nothing moves.
        const plain = await env.ferry('rollback', ENV_NAME);
        expect(plain.code).toBe(1);
        expect(plain.stderr).toMatch(
          /run different releases \(host1 on 2\.0\.0, host2 on 3\.0\.0, host3 on 3\.0\.0\)/,
        );
        expect(plain.stderr).toMatch(/ferry rollback \S+ --to /);
        expect(await served()).toEqual(['2.0.0', '3.0.0', '3.0.0']);
        const rerun = await env.ferryChild(['rollback', ENV_NAME, '--to', '2.0.0']);
        expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
        await expectConverged('2.0.0');
        note(
          'killed with host1 on 2.0.0, host2-3 on 3.0.0; a plain rollback was refused (split fleet), the --to re-run converged all 3 on 2.0.0',
        );
      },
    ),
  );
});
