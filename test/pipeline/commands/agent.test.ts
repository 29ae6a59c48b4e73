// The argv builders the CLI runs over SSH, exactly; and each one accepted by the agent's own parser, so
// the two sides cannot drift apart unnoticed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentArgv, agentEntry, setupDirsArgv } from '../../../pipeline/commands/agent';
import { makeHost, runAgentArgv, type TestHost } from '../../fixtures/agent-host';
import { newSigningKey } from '../../fixtures/releases';

const ROOT = '/srv/storage';

describe('agentArgv', () => {
  it('builds deploy with every flag', () => {
    expect(
      agentArgv(
        ROOT,
        'deploy',
        {
          version: '1.2.0',
          manifestUrl: 'https://m',
          signatureUrl: 'https://s',
          artifactUrl: 'https://a',
          healthTimeoutSec: 60,
          allowBad: true,
          keep: 3,
        },
        { nodePath: '/usr/bin/node', who: 'alice@laptop' },
      ),
    ).toEqual([
      '/usr/bin/node',
      '/srv/storage/.ferry/agent/index.js',
      'deploy',
      '--root',
      '/srv/storage',
      '--who',
      'alice@laptop',
      '--version',
      '1.2.0',
      '--manifest-url',
      'https://m',
      '--signature-url',
      'https://s',
      '--artifact-url',
      'https://a',
      '--health-timeout',
      '60',
      '--allow-bad',
      '--keep',
      '3',
    ]);
  });

  it('builds rollback, status, history, service and the rest', () => {
    expect(agentArgv(ROOT, 'rollback', { to: '1.1.0', markBad: false })).toEqual([
      // The runtime setup installed, never the host's own node.
      `${ROOT}/.ferry/runtime/bin/node`,
      agentEntry(ROOT),
      'rollback',
      '--root',
      ROOT,
      '--to',
      '1.1.0',
      '--no-mark-bad',
    ]);
    expect(agentArgv(ROOT, 'rollback', {}).slice(2)).toEqual(['rollback', '--root', ROOT]);
    expect(agentArgv(ROOT, 'status', { health: false }).slice(2)).toEqual([
      'status',
      '--root',
      ROOT,
      '--no-health',
    ]);
    expect(agentArgv(ROOT, 'history', { limit: 20 }).slice(2)).toEqual([
      'history',
      '--root',
      ROOT,
      '--limit',
      '20',
    ]);
    expect(agentArgv(ROOT, 'service', { action: 'reload' }).slice(2)).toEqual([
      'service',
      'reload',
      '--root',
      ROOT,
    ]);
    expect(agentArgv(ROOT, 'prune', { keep: 2 }).slice(2)).toEqual(['prune', '--root', ROOT, '--keep', '2']);
    expect(agentArgv(ROOT, 'unlock', {}, { who: 'bob@desk' }).slice(2)).toEqual([
      'unlock',
      '--root',
      ROOT,
      '--who',
      'bob@desk',
    ]);
    expect(() => agentArgv('relative/root', 'status', {})).toThrow(/absolute/);
  });

  it('builds the setup directories', () => {
    expect(setupDirsArgv(ROOT)).toEqual([
      'mkdir',
      '-p',
      '/srv/storage/releases',
      '/srv/storage/shared/data',
      '/srv/storage/.ferry/agent',
      '/srv/storage/.ferry/tmp',
      '/srv/storage/.ferry/logs',
    ]);
  });
});

describe('the agent accepts what agentArgv builds', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeHost(newSigningKey().publicKey);
  });
  afterAll(async () => {
    await rm(host.root, { recursive: true, force: true });
  });

  const run = runAgentArgv;

  it.each([
    ['version', {}],
    ['status', { health: false }],
    ['history', { limit: 5 }],
    ['unlock', {}],
    ['prune', { keep: 2 }],
    ['recover', {}],
    ['service', { action: 'status' }],
  ] as const)('%s', async (command, args) => {
    const r = await run(agentArgv(host.root, command, args as never, { who: 'ci@runner' }));
    expect(r.result, JSON.stringify(r.result)).toMatchObject({ event: 'result', ok: true });
    expect(r.code).toBe(0);
  });

  it('deploy and rollback parse (and fail for the reasons expected, not as usage errors)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-none-'));
    try {
      const missing = `file://${dir}/missing.json`;
      const d = await run(
        agentArgv(host.root, 'deploy', {
          version: '1.0.0',
          manifestUrl: missing,
          signatureUrl: missing,
          artifactUrl: missing,
          healthTimeoutSec: 5,
          keep: 2,
          hooks: [{ phase: 'beforeSwitch', run: 'echo "a: b" && node x.js --y=1', timeoutSec: 30 }],
        }),
      );
      expect(d.result.error?.code).toBe('download_failed');
      const r = await run(
        agentArgv(host.root, 'rollback', { to: '0.9.0', markBad: false, healthTimeoutSec: 5 }),
      );
      expect(r.result.error?.code).toBe('nothing_to_roll_back');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a malformed --hook as a usage error naming the format', async () => {
    const r = await run([
      ...agentArgv(host.root, 'deploy', {
        version: '1.0.0',
        manifestUrl: 'file:///m',
        signatureUrl: 'file:///s',
        artifactUrl: 'file:///a',
      }),
      '--hook',
      'duringSwitch:5:true',
    ]);
    expect(r.code).toBe(2);
    expect(r.result.error).toMatchObject({ code: 'usage' });
    expect(r.result.error?.message).toMatch(/--hook must be PHASE:TIMEOUT:COMMAND/);
  });

  it('refuses unknown flags as usage errors (exit 2)', async () => {
    const r = await run(['node', 'agent', 'status', '--root', host.root, '--bogus']);
    expect(r.code).toBe(2);
    expect(r.result.error?.code).toBe('usage');
  });
});
