// The host lock: atomic, says who holds it, refuses a second taker, breaks when expired or when its holder
// died, and `unlock` records who removed it.
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from '../../../../pipeline/agent/errors';
import { acquireLock, type LockInfo, readLock } from '../../../../pipeline/agent/host/lock';
import { ExitCode } from '../../../../pipeline/exit-codes';
import { destroyHost, makeHost, runAgent, type TestHost } from '../../../fixtures/agent-host';
import { newSigningKey } from '../../../fixtures/releases';

let host: TestHost;

beforeEach(async () => {
  host = await makeHost(newSigningKey().publicKey);
});

afterEach(async () => {
  await destroyHost(host);
});

async function plantLock(info: Partial<LockInfo>): Promise<LockInfo> {
  const now = Date.now();
  const full: LockInfo = {
    holder: `alice@laptop/${process.pid}`,
    who: 'alice@laptop',
    pid: process.pid,
    machine: hostname(),
    op: 'deploy',
    version: '7.0.0',
    since: new Date(now).toISOString(),
    expiresAt: new Date(now + 600_000).toISOString(),
    ...info,
  };
  await mkdir(host.paths.lock);
  await writeFile(host.paths.lockInfo, JSON.stringify(full));
  return full;
}

const history = async () =>
  (await readFile(host.paths.history, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('acquireLock', () => {
  it('refuses a second taker while the first holds it, then lets it in after release', async () => {
    const first = await acquireLock(host.paths, { who: 'a@x', op: 'deploy', version: '1', ttlSec: 60 });
    const err = await acquireLock(host.paths, {
      who: 'b@y',
      op: 'rollback',
      version: null,
      ttlSec: 60,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).code).toBe('locked');
    expect((err as AgentError).message).toContain(`a@x/${process.pid} (deploy 1)`);
    await first.release();
    const second = await acquireLock(host.paths, { who: 'b@y', op: 'rollback', version: null, ttlSec: 60 });
    expect((await readLock(host.paths))?.who).toBe('b@y');
    await second.release();
    expect(await readLock(host.paths)).toBeNull();
  });

  it('breaks a lock whose holder process is gone, with a note in history', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    await plantLock({ pid: dead, holder: `alice@laptop/${dead}` });
    const lock = await acquireLock(host.paths, { who: 'b@y', op: 'deploy', version: '2', ttlSec: 60 });
    await lock.release();
    expect((await history())[0]).toMatchObject({ op: 'unlock', result: 'note', who: 'b@y' });
    expect((await history())[0].note).toMatch(new RegExp(`alice@laptop/${dead} is no longer running`));
  });
});

describe('agent commands and the lock', () => {
  it('a second deploy on a locked host fails with the holder and the unlock remedy; status shows the lock', async () => {
    await plantLock({});
    const nowhere = 'file:///nonexistent/manifest.json';
    const run = await runAgent([
      'deploy',
      '--root',
      host.root,
      '--who',
      'bob@desk',
      '--version',
      '8.0.0',
      '--manifest-url',
      nowhere,
      '--signature-url',
      nowhere,
      '--artifact-url',
      nowhere,
    ]);
    expect(run.code).toBe(ExitCode.Locked);
    expect(run.result?.error).toMatchObject({ code: 'locked' });
    expect(run.result?.error.message).toContain(`alice@laptop/${process.pid} (deploy 7.0.0)`);
    expect(run.result?.error.remedy).toContain('ferry unlock');
    const status = await runAgent(['status', '--root', host.root, '--no-health']);
    expect(status.result?.lock).toMatchObject({ who: 'alice@laptop', op: 'deploy', version: '7.0.0' });
  });

  it('unlock removes the lock and records who did it', async () => {
    await plantLock({});
    const run = await runAgent(['unlock', '--root', host.root, '--who', 'bob@desk']);
    expect(run.result).toMatchObject({ ok: true, wasLocked: true, lock: { who: 'alice@laptop' } });
    await expect(readFile(host.paths.lockInfo)).rejects.toThrow();
    expect((await history()).at(-1)).toMatchObject({ op: 'unlock', who: 'bob@desk', version: '7.0.0' });
    const again = await runAgent(['unlock', '--root', host.root]);
    expect(again.result).toMatchObject({ ok: true, wasLocked: false });
  });

  it('an expired lock is broken and the command proceeds', async () => {
    await plantLock({ expiresAt: new Date(Date.now() - 1000).toISOString() });
    const run = await runAgent(['prune', '--root', host.root, '--who', 'bob@desk']);
    expect(run.result, run.stderr).toMatchObject({ ok: true, op: 'prune' });
    expect((await history()).at(0).note).toMatch(/expired/);
  });
});
