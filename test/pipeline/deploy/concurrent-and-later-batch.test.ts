// Two behaviours of `ferry deploy` across an environment, through bin/ferry.js over 3 local hosts:
// two runs started at the same moment (exactly one proceeds, the other exits 4 and touches nothing), and
// a release that passes the canary but fails its health gate on a later batch (the hosts already
// switched are returned and the release is marked bad on them too, so it cannot come back by accident).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditPrefix } from '../../../pipeline/deploy/audit';
import { ExitCode } from '../../../pipeline/exit-codes';
import { FIXTURE_APP } from '../../fixtures/releases';
import { answers, historyOf } from '../../reliability/support/host-checks';
import { ENV_NAME, type LocalEnv, startLocalEnv } from '../../reliability/support/local-env';

let env: LocalEnv;

const versions = () => Promise.all(env.hosts.map(async (h) => (await answers(h.port)).version));
const bad = async (i: number) =>
  (JSON.parse(await readFile(env.hosts[i]!.paths.state, 'utf8')) as { bad: string[] }).bad;
async function auditEntries(): Promise<{ who: string; op: string; version: string; result: string }[]> {
  const dir = join(env.registryDir as string, ...auditPrefix(env.prefix, FIXTURE_APP, ENV_NAME).split('/'));
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8'))));
}

beforeAll(async () => {
  env = await startLocalEnv({ hosts: 3 });
  for (const v of ['1.0.0', '2.0.0', '3.0.0']) await env.publish(v);
  const setup = await env.ferry('setup', ENV_NAME);
  expect(setup.code, setup.stdout + setup.stderr).toBe(0);
  const first = await env.ferry('deploy', ENV_NAME, '--version', '1.0.0');
  expect(first.code, first.stdout + first.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await env?.close();
});

describe.sequential('ferry deploy on 3 local hosts', () => {
  it('two runs at once: exactly one proceeds, the other exits 4 naming it and touches nothing', async () => {
    const historyBefore = await Promise.all(env.hosts.map(async (h) => (await historyOf(h.paths)).length));
    const auditBefore = (await auditEntries()).length;
    const [a, b] = await Promise.all([
      env.ferryChild(['deploy', ENV_NAME, '--version', '2.0.0'], { env: { FERRY_WHO: 'run-a@test' } }),
      env.ferryChild(['deploy', ENV_NAME, '--version', '2.0.0'], { env: { FERRY_WHO: 'run-b@test' } }),
    ]);
    const runs = [
      { who: 'run-a@test', ...a },
      { who: 'run-b@test', ...b },
    ];
    const winners = runs.filter((r) => r.code === 0);
    const losers = runs.filter((r) => r.code === ExitCode.Locked);
    expect(winners, runs.map((r) => `${r.who}: ${r.code}\n${r.stdout}${r.stderr}`).join('\n')).toHaveLength(
      1,
    );
    expect(losers).toHaveLength(1);
    const [winner, loser] = [winners[0]!, losers[0]!];
    expect(loser.stderr).toMatch(
      new RegExp(
        `^error: ${ENV_NAME} is locked by ${winner.who} since .*\\(deploy 2\\.0\\.0; expires .*\\)\\n`,
      ),
    );
    // The loser never reached a host: every host action in history, and the one new audit entry, are the winner's.
    for (const [i, h] of env.hosts.entries()) {
      const added = (await historyOf(h.paths)).slice(historyBefore[i]);
      expect(added.length, h.name).toBeGreaterThan(0);
      expect(
        added.every((e) => e.who === winner.who),
        h.name,
      ).toBe(true);
    }
    expect((await auditEntries()).slice(auditBefore).map((e) => [e.who, e.op, e.version, e.result])).toEqual([
      [winner.who, 'deploy', '2.0.0', 'ok'],
    ]);
    expect(await versions()).toEqual(['2.0.0', '2.0.0', '2.0.0']);
  });

  it('a release failing its gate on a later batch is marked bad on the hosts already switched too', async () => {
    // 3.0.0 is unhealthy on host3 only (its own shared/.env), so host1 (canary) and host2 switch first.
    await writeFile(env.hosts[2]!.paths.sharedEnv, 'FIXTURE_UNHEALTHY_VERSION=3.0.0\n');
    const r = await env.ferry('deploy', ENV_NAME, '--version', '3.0.0');
    expect(r.code, r.stdout + r.stderr).toBe(ExitCode.Unhealthy);
    expect(r.stdout).toMatch(/host3\s+FAILED\s+2\.0\.0\s+2\.0\.0\s+3\s+.*health_failed/);
    expect(r.stdout).toMatch(/host1\s+returned\s+2\.0\.0\s+2\.0\.0\s+1/);
    expect(r.stdout).toMatch(/host2\s+returned\s+2\.0\.0\s+2\.0\.0\s+2/);
    expect(await versions()).toEqual(['2.0.0', '2.0.0', '2.0.0']);
    for (const i of [0, 1, 2]) expect(await bad(i), env.hosts[i]!.name).toContain('3.0.0');

    // So a plain re-run cannot bring it back: the canary refuses it as bad, nothing switches.
    const again = await env.ferry('deploy', ENV_NAME, '--version', '3.0.0');
    expect(again.code).not.toBe(0);
    expect(again.stdout).toMatch(/host1\s+FAILED.*bad_release/);
    expect(await versions()).toEqual(['2.0.0', '2.0.0', '2.0.0']);
  });
});
