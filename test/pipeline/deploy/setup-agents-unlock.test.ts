// The fleet commands around a deploy, through the real CLI over 2 local hosts (each its own folder and
// supervised service): re-running `ferry setup`, a host whose agent is missing or speaks another protocol,
// and `ferry unlock --hosts` clearing host locks a dead run left behind.
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL } from '../../../pipeline/agent/version';
import { acquireEnvLock, envLockKey } from '../../../pipeline/deploy/env-lock';
import { ExitCode } from '../../../pipeline/exit-codes';
import { LocalRegistry } from '../../../pipeline/registry/local';
import { httpGet } from '../../fixtures/agent-host';
import { FIXTURE_APP } from '../../fixtures/releases';
import { historyOf } from '../../reliability/support/host-checks';
import { ENV_NAME, type LocalEnv, startLocalEnv } from '../../reliability/support/local-env';

let env: LocalEnv;

/** What a host's service answers on /version: the release, and the FIXTURE_ECHO its workers got. */
async function served(port: number): Promise<{ version: string; env: string | null } | null> {
  const r = await httpGet(port, '/version');
  return r?.status === 200 ? (JSON.parse(r.body) as { version: string; env: string | null }) : null;
}
const supervisorPid = async (i: number) =>
  Number((await readFile(env.hosts[i]!.paths.supervisorPid, 'utf8')).trim());
const envFile = async (name: string, text: string) => {
  const file = join(env.dir, name);
  await writeFile(file, text);
  return file;
};

beforeAll(async () => {
  env = await startLocalEnv({ hosts: 2 });
  for (const v of ['1.0.0', '2.0.0', '3.0.0']) await env.publish(v);
  const setup = await env.ferry(
    'setup',
    ENV_NAME,
    '--env-file',
    await envFile('first.env', 'FIXTURE_ECHO=first\n'),
  );
  expect(setup.code, setup.stdout + setup.stderr).toBe(0);
  const first = await env.ferry('deploy', ENV_NAME, '--version', '1.0.0');
  expect(first.code, first.stdout + first.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await env?.close();
});

describe.sequential('fleet commands on 2 local hosts', () => {
  it('re-running ferry setup rewrites what releases.yaml changed and keeps secrets, service and releases', async () => {
    const pids = [await supervisorPid(0), await supervisorPid(1)];
    const dotenv = await readFile(env.hosts[0]!.paths.sharedEnv, 'utf8');
    const yaml = await readFile(env.configFile, 'utf8');
    await writeFile(env.configFile, yaml.replace('timeoutSeconds: 10', 'timeoutSeconds: 12'));

    const again = await env.ferry('setup', ENV_NAME);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    for (const [i, h] of env.hosts.entries()) {
      // Only what differs is written, and the line says what that was.
      expect(again.stdout).toContain(`${h.name}  ready (service.json)`);
      const config = JSON.parse(await readFile(h.paths.serviceConfig, 'utf8')) as {
        healthTimeoutSec: number;
      };
      expect(config.healthTimeoutSec).toBe(12);
      expect(await readFile(h.paths.sharedEnv, 'utf8')).toBe(dotenv);
      expect(await supervisorPid(i)).toBe(pids[i]);
      expect(await served(h.port)).toMatchObject({ version: '1.0.0', env: 'first' });
    }
    const unchanged = await env.ferry('setup', ENV_NAME);
    expect(unchanged.code, unchanged.stderr).toBe(0);
    for (const h of env.hosts) expect(unchanged.stdout).toContain(`${h.name}  ready (nothing changed)`);

    // With --env-file the secrets are replaced (mode 0600), and the next reload serves them.
    const replaced = await env.ferry(
      'setup',
      ENV_NAME,
      '--env-file',
      await envFile('second.env', 'FIXTURE_ECHO=second\n'),
    );
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toContain('.env (replaced)');
    expect((await stat(env.hosts[0]!.paths.sharedEnv)).mode & 0o777).toBe(0o600);
    const deploy = await env.ferry('deploy', ENV_NAME, '--version', '2.0.0');
    expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
    for (const h of env.hosts)
      expect(await served(h.port)).toMatchObject({ version: '2.0.0', env: 'second' });
  });

  it('a host whose agent is missing, or speaks another protocol, stops the run before the lock; nothing is touched', async () => {
    const host2 = env.hosts[1]!;
    const agentFile = join(host2.paths.ferry, 'agent', 'index.js');
    const lockFile = join(env.registryDir as string, envLockKey(env.prefix, FIXTURE_APP, ENV_NAME));
    const before = await Promise.all(env.hosts.map(async (h) => (await historyOf(h.paths)).length));
    const untouched = async () => {
      for (const [i, h] of env.hosts.entries()) {
        expect((await historyOf(h.paths)).length, h.name).toBe(before[i]);
        expect(await served(h.port), h.name).toMatchObject({ version: '2.0.0' });
      }
      await expect(stat(lockFile)).rejects.toThrow();
    };

    await rm(agentFile);
    const missing = await env.ferry('deploy', ENV_NAME, '--version', '3.0.0');
    expect(missing.code).toBe(ExitCode.Failure);
    expect(missing.stderr).toMatch(/^error: cannot drive these hosts:\n {2}host2: no working agent \(.+\)\n/);
    expect(missing.stderr).toContain('hint: run ferry setup <env> to install this version of the agent');
    await untouched();

    // An agent from another Ferry: it answers `version`, but with another protocol.
    await writeFile(
      agentFile,
      `process.stdout.write(JSON.stringify({ event: 'result', ok: true, op: 'version', agentVersion: '9.0.0', protocol: ${AGENT_PROTOCOL + 1}, node: process.version }) + '\\n');\n`,
    );
    const other = await env.ferry('deploy', ENV_NAME, '--version', '3.0.0');
    expect(other.code).toBe(ExitCode.Failure);
    expect(other.stderr).toContain(
      `host2: agent 9.0.0 speaks protocol ${AGENT_PROTOCOL + 1}, this CLI ${AGENT_PROTOCOL}`,
    );
    await untouched();

    // The remedy works: setup installs this CLI's agent, and the deploy goes through.
    expect((await env.ferry('setup', ENV_NAME)).code).toBe(0);
    const fixed = await env.ferry('deploy', ENV_NAME, '--version', '3.0.0');
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
  });

  it('ferry unlock --hosts removes the environment lock and the host locks a dead run left', async () => {
    // A run on another machine died holding the environment lock and both host locks.
    const registry = new LocalRegistry(env.registryDir as string);
    await acquireEnvLock(registry, envLockKey(env.prefix, FIXTURE_APP, ENV_NAME), {
      env: ENV_NAME,
      who: 'ci:dead-job',
      op: 'deploy',
      version: '9.9.9',
      ttlSeconds: 900,
    });
    for (const h of env.hosts) {
      await mkdir(h.paths.lock, { recursive: true });
      await writeFile(
        h.paths.lockInfo,
        JSON.stringify({
          holder: 'ci@build-7/4242',
          who: 'ci@build-7',
          pid: 4242,
          machine: `not-${hostname()}`,
          op: 'deploy',
          version: '9.9.9',
          since: new Date().toISOString(),
          expiresAt: new Date(Date.now() + 600_000).toISOString(),
        }),
      );
    }
    expect((await env.ferry('deploy', ENV_NAME, '--version', '2.0.0')).code).toBe(ExitCode.Locked);

    const unlock = await env.ferry('unlock', ENV_NAME, '--hosts', '--json');
    expect(unlock.code, unlock.stderr).toBe(0);
    const out = JSON.parse(unlock.stdout) as {
      removed: { who: string };
      hosts: { host: string; wasLocked: boolean }[];
    };
    expect(out.removed.who).toBe('ci:dead-job');
    expect(out.hosts.sort((a, b) => a.host.localeCompare(b.host))).toEqual([
      { host: 'host1', wasLocked: true },
      { host: 'host2', wasLocked: true },
    ]);
    expect(unlock.stderr).toContain('removed the lock held by ci:dead-job');
    for (const h of env.hosts) {
      expect(unlock.stderr).toContain(`  ${h.name}: removed its host lock`);
      await expect(stat(h.paths.lock)).rejects.toThrow();
      expect((await historyOf(h.paths)).at(-1)).toMatchObject({
        op: 'unlock',
        note: expect.stringMatching(/unlocked by reliability@test/),
      });
    }
    const audit = await env.ferry('history', ENV_NAME, '--json');
    expect(
      (JSON.parse(audit.stdout) as { entries: { op: string; error?: string }[] }).entries.at(-1),
    ).toMatchObject({
      op: 'unlock',
      error: expect.stringMatching(/^removed lock of ci:dead-job/),
    });

    const after = await env.ferry('deploy', ENV_NAME, '--version', '2.0.0');
    expect(after.code, after.stdout + after.stderr).toBe(0);
    for (const h of env.hosts) expect(await served(h.port)).toMatchObject({ version: '2.0.0' });
  });
});
