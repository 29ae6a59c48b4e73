// The rollout's ordering with bake time, driven through its hooks: a batch that fails while it bakes halts
// the rollout like a failed gate, later batches never start, and every host switched so far (the baking
// ones included) is returned. The bake itself, against real hosts, is in bake.test.ts.
import { describe, expect, it } from 'vitest';
import type { AgentResult } from '../../../pipeline/deploy/agent-client';
import { rollout } from '../../../pipeline/deploy/rollout';
import type { HostHandle } from '../../../pipeline/deploy/session';

const hosts = ['h1', 'h2', 'h3', 'h4'].map((name) => ({ host: { name } }) as unknown as HostHandle);
const ok = (h: HostHandle): AgentResult => ({
  ok: true,
  op: 'deploy',
  version: '2.0.0',
  previous: '1.0.0',
  exitCode: 0,
  host: h.host.name,
});

describe('rollout with bake time', () => {
  it('halts when a baking batch fails, reverts every switched host and starts no later batch', async () => {
    const ran: string[] = [];
    const baked: string[][] = [];
    const reverted: string[] = [];
    const r = await rollout(
      hosts,
      { batch: 2, concurrency: 4, canary: true },
      {
        run: async (h) => {
          ran.push(h.host.name);
          return ok(h);
        },
        bake: async (n, batch) => {
          baked.push(batch.map((h) => h.host.name));
          return n === 2
            ? { host: 'h3', error: { code: 'bake_failed', step: 'bake', message: 'a worker crashed' } }
            : null;
        },
        revert: async (h) => {
          reverted.push(h.host.name);
          return ok(h);
        },
      },
    );
    expect(ran).toEqual(['h1', 'h2', 'h3']);
    expect(baked).toEqual([['h1'], ['h2', 'h3']]);
    expect(reverted.sort()).toEqual(['h1', 'h2', 'h3']);
    expect(r.ok).toBe(false);
    expect(r.haltedBy).toMatchObject({ host: 'h3', failedBake: true, error: { code: 'bake_failed' } });
    expect(r.outcomes.find((o) => o.host === 'h4')).toMatchObject({ skipped: true });
  });

  it('does not bake after the last batch', async () => {
    const baked: number[] = [];
    const r = await rollout(
      hosts,
      { batch: '100%', concurrency: 4, canary: true },
      {
        run: async (h) => ok(h),
        bake: async (n) => {
          baked.push(n);
          return null;
        },
        revert: async (h) => ok(h),
      },
    );
    expect(r.ok).toBe(true);
    expect(baked).toEqual([1]);
  });
});
