// A first deploy that halts part-way: hosts that had no earlier release cannot be "returned", and the CLI
// must say they keep the new one instead of claiming the fleet is back where it was.
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV_NAME, type LocalEnv, startLocalEnv } from '../../reliability/support/local-env';

describe('a halted first deploy', () => {
  let env: LocalEnv;
  beforeAll(async () => {
    env = await startLocalEnv({ hosts: 2 });
    await env.publish('1.0.0');
    const setup = await env.ferry('setup', ENV_NAME);
    expect(setup.code, setup.stderr).toBe(0);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('says which hosts keep the new release because they had nothing to go back to', async () => {
    // host 2 is busy (its agent lock held by this live process), so the rollout halts after the canary.
    const lockDir = join(env.hosts[1]!.root, '.ferry', 'lock');
    await mkdir(lockDir, { recursive: true });
    await writeFile(
      join(lockDir, 'info.json'),
      JSON.stringify({
        holder: `someone/${process.pid}`,
        who: 'someone',
        pid: process.pid,
        machine: hostname(),
        op: 'deploy',
        version: '0.9.0',
        since: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      }),
    );
    const r = await env.ferry('deploy', ENV_NAME, '--version', '1.0.0');
    expect(r.code).toBe(1);
    const first = env.hosts[0]!.name;
    expect(r.stderr).toContain(`${first} had no earlier release and keep 1.0.0`);
    expect(r.stdout).toMatch(new RegExp(`${env.hosts[1]!.name}\\s+FAILED.*locked`));
  });
});
