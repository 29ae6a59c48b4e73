// The argv builders for `agent logs` and `agent maintenance`, exactly; and the agent's own parser accepting
// what they build (a host with no service running: logs has nothing yet, maintenance is saved for later).
import { readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentArgv } from '../../../pipeline/commands/agent';
import { makeHost, runAgentArgv, type TestHost } from '../../fixtures/agent-host';
import { newSigningKey } from '../../fixtures/releases';

const ROOT = '/srv/storage';

describe('agentArgv for day-2 commands', () => {
  it('builds logs with every flag, and with none', () => {
    expect(
      agentArgv(ROOT, 'logs', { follow: true, since: '10m', lines: 50, release: '1.4.0' }).slice(2),
    ).toEqual(['logs', '--root', ROOT, '--follow', '--since', '10m', '--lines', '50', '--release', '1.4.0']);
    expect(agentArgv(ROOT, 'logs', { lines: 0 }).slice(2)).toEqual(['logs', '--root', ROOT, '--lines', '0']);
    expect(agentArgv(ROOT, 'logs', {}).slice(2)).toEqual(['logs', '--root', ROOT]);
  });

  it('builds maintenance on and off', () => {
    expect(
      agentArgv(
        ROOT,
        'maintenance',
        { action: 'on', message: "We'll be back", retryAfterSec: 600 },
        { who: 'ops@desk' },
      ).slice(2),
    ).toEqual([
      'maintenance',
      'on',
      '--root',
      ROOT,
      '--who',
      'ops@desk',
      '--message',
      "We'll be back",
      '--retry-after',
      '600',
    ]);
    expect(agentArgv(ROOT, 'maintenance', { action: 'off' }).slice(2)).toEqual([
      'maintenance',
      'off',
      '--root',
      ROOT,
    ]);
  });
});

describe('the agent accepts them', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeHost(newSigningKey().publicKey);
  });
  afterAll(async () => {
    await rm(host.root, { recursive: true, force: true });
  });

  const run = runAgentArgv;

  it('logs', async () => {
    const r = await run(agentArgv(host.root, 'logs', { since: '1h', lines: 10, release: '1.0.0' }));
    expect(r.result).toMatchObject({ event: 'result', ok: true, op: 'logs', mode: 'process', count: 0 });
    expect(r.code).toBe(0);
  });

  it('maintenance, with no service running: saved, applied at the next start', async () => {
    const on = await run(
      agentArgv(host.root, 'maintenance', { action: 'on', retryAfterSec: 60 }, { who: 'ci@runner' }),
    );
    expect(on.result).toMatchObject({ ok: true, on: true, running: false, applied: false });
    expect(JSON.parse(await readFile(host.paths.maintenance, 'utf8'))).toMatchObject({
      on: true,
      retryAfterSec: 60,
      by: 'ci@runner',
    });
    const off = await run(agentArgv(host.root, 'maintenance', { action: 'off' }));
    expect(off.result).toMatchObject({ ok: true, on: false });
  });
});
