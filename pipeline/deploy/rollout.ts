// Walks an operation (deploy or rollback) across the fleet in batches, canary first. A failed host stops the
// rollout, and every host this run already switched is returned to the release it ran before, so the fleet
// never ends split between versions. Per-host work is a callback: this module only decides the order.
import type { BatchSpec } from '../config/resolve';
import type { HookRun } from '../hooks/spec';
import type { AgentResult, FailureDetails } from './agent-client';
import { crashAfterHosts } from './crash-hook';
import { mapLimit, planBatches } from './plan';
import type { HostHandle } from './session';

export interface HostOutcome {
  host: string;
  ok: boolean;
  /** The release the host ran before this run (what a revert returns it to). */
  from: string | null;
  to: string | null;
  batch: number;
  durationMs: number;
  error?: { code: string; message: string; step?: string; details?: FailureDetails };
  /** The agent switched back by itself (health gate). */
  selfReverted?: boolean;
  /** This run returned the host to `from` after another host failed. */
  reverted?: { ok: boolean; error?: string };
  /** Switched fine, then failed while its batch baked: it is returned like the hosts that passed. */
  failedBake?: boolean;
  skipped?: boolean;
  /** The hooks the host ran (deploy --hook), with their exits and output. */
  hooks?: HookRun[];
}

export interface RolloutHooks {
  run(h: HostHandle, batch: number): Promise<AgentResult>;
  /** Return a switched host to `from`; `cause` is the failure that halted the rollout. */
  revert(h: HostHandle, outcome: HostOutcome, cause: HostOutcome): Promise<AgentResult>;
  /** Called before each batch starts (e.g. to presign URLs that must not expire mid-rollout). */
  beforeBatch?(batch: number, hosts: HostHandle[]): Promise<void>;
  /**
   * Called after a batch passed, before the next one: watches it for a while. A returned failure is
   * treated as that host failing its gate: the rollout halts and every switched host is returned.
   */
  bake?(
    batch: number,
    hosts: HostHandle[],
  ): Promise<{ host: string; error: NonNullable<HostOutcome['error']> } | null>;
  onHostDone?(o: HostOutcome): void;
  onRevert?(o: HostOutcome): void;
}

export interface RolloutResult {
  ok: boolean;
  outcomes: HostOutcome[];
  /** The first failure that halted the rollout. */
  haltedBy: HostOutcome | null;
}

export async function rollout(
  hosts: HostHandle[],
  opts: { batch: BatchSpec; concurrency: number; canary: boolean },
  hooks: RolloutHooks,
): Promise<RolloutResult> {
  const batches = planBatches(hosts, opts.batch, { canary: opts.canary });
  const outcomes: HostOutcome[] = [];
  let haltedBy: HostOutcome | null = null;
  let hostsDone = 0;

  for (const [i, batch] of batches.entries()) {
    const n = i + 1;
    await hooks.beforeBatch?.(n, batch);
    const done = await mapLimit(batch, opts.concurrency, async (h) => {
      const started = Date.now();
      const r = await hooks.run(h, n).catch((err: Error) => failedResult(err));
      const o = outcomeOf(h, r, n, Date.now() - started);
      hooks.onHostDone?.(o);
      crashAfterHosts(++hostsDone);
      return o;
    });
    outcomes.push(...done);
    haltedBy = done.find((o) => !o.ok) ?? null;
    if (haltedBy) break;
    if (hooks.bake && i < batches.length - 1) {
      const failure = await hooks.bake(n, batch);
      const o = failure ? done.find((d) => d.host === failure.host) : undefined;
      if (o) {
        o.ok = false;
        o.failedBake = true;
        o.error = failure?.error;
        haltedBy = o;
        break;
      }
    }
  }

  if (haltedBy) {
    // Hosts that switched in this run go back; the failed host already switched back by itself (or never
    // switched). Reverts run with the same cap; one that fails is reported, not retried forever.
    const switched = outcomes.filter((o) => (o.ok || o.failedBake) && o.from !== null && o.from !== o.to);
    await mapLimit(switched, opts.concurrency, async (o) => {
      const h = hosts.find((x) => x.host.name === o.host) as HostHandle;
      const r = await hooks.revert(h, o, haltedBy as HostOutcome).catch((err: Error) => failedResult(err));
      o.reverted = r.ok ? { ok: true } : { ok: false, error: r.error?.message ?? 'revert failed' };
      hooks.onRevert?.(o);
    });
    for (const h of hosts) {
      if (!outcomes.some((o) => o.host === h.host.name)) {
        outcomes.push({
          host: h.host.name,
          ok: false,
          skipped: true,
          from: null,
          to: null,
          batch: 0,
          durationMs: 0,
        });
      }
    }
  }
  return { ok: haltedBy === null, outcomes, haltedBy };
}

function outcomeOf(h: HostHandle, r: AgentResult, batch: number, durationMs: number): HostOutcome {
  const o: HostOutcome = {
    host: h.host.name,
    ok: r.ok,
    from: (r.previous as string | null | undefined) ?? null,
    to: r.ok ? (r.version ?? null) : ((r.previous as string | null | undefined) ?? null),
    batch,
    durationMs,
  };
  if (Array.isArray(r.hooks)) o.hooks = r.hooks as HookRun[];
  else if (r.error?.details?.hooks) o.hooks = r.error.details.hooks;
  if (!r.ok) {
    o.error = { code: r.error?.code ?? 'failed', message: r.error?.message ?? 'failed', step: r.error?.step };
    if (r.error?.details) o.error.details = r.error.details;
    if (r.rolledBack === true) o.selfReverted = true;
  }
  return o;
}

function failedResult(err: Error): AgentResult {
  return {
    ok: false,
    op: 'unknown',
    exitCode: 1,
    noResult: true,
    error: { code: 'transport', message: err.message },
  };
}
