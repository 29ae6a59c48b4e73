// `ferry deploy --dry-run` shows, after its plan, what the release changes against what the hosts run:
// the same diff as `ferry diff`, from the signed manifests, with nothing changed on any host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV_NAME, type LocalEnv, startLocalEnv } from '../../reliability/support/local-env';

describe('ferry deploy --dry-run', () => {
  let env: LocalEnv;
  beforeAll(async () => {
    env = await startLocalEnv({ hosts: 2 });
    await env.publish('1.0.0');
    const setup = await env.ferry('setup', ENV_NAME);
    expect(setup.code, setup.stderr).toBe(0);
    const deploy = await env.ferry('deploy', ENV_NAME, '--version', '1.0.0');
    expect(deploy.code, deploy.stderr + deploy.stdout).toBe(0);
    // Another variant, so the bundle's bytes differ (the fake app reads its version from the manifest).
    await env.publish('2.0.0', 'unhealthy');
  }, 180_000);
  afterAll(async () => {
    await env?.close();
  });

  it('prints the diff from the version the hosts run, and deploys nothing', async () => {
    const dry = await env.ferry('deploy', ENV_NAME, '--version', '2.0.0', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    const lines = dry.stdout.split('\n');
    expect(lines).toContain('on host1, host2:');
    expect(lines).toContain('storage 1.0.0 → 2.0.0');
    expect(lines.some((l) => /^files: \d+ added, \d+ removed, [1-9]\d* changed/.test(l))).toBe(true);

    const json = await env.ferry('deploy', ENV_NAME, '--version', '2.0.0', '--dry-run', '--json');
    const r = JSON.parse(json.stdout) as {
      dryRun: boolean;
      diffs: { from: string; hosts: string[]; diff: { to: { version: string } } }[];
    };
    expect(r.dryRun).toBe(true);
    expect(r.diffs).toEqual([
      {
        from: '1.0.0',
        hosts: ['host1', 'host2'],
        diff: expect.objectContaining({ to: expect.objectContaining({ version: '2.0.0' }) }),
      },
    ]);
    const status = await env.ferry('status', ENV_NAME, '--json');
    expect(status.stdout).not.toContain('"2.0.0"');
  });
});
