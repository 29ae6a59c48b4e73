// How a rollout walks the fleet: the first host alone as a canary, then batches of the configured size.
// Pure, so the order is unit-tested exactly.

export type BatchSpec = number | `${number}%`;

/** Resolves `batch` (1 | N | "25%") to a host count, at least 1 and at most the fleet. */
export function batchSize(spec: BatchSpec, hostCount: number): number {
  if (hostCount === 0) return 0;
  if (typeof spec === 'number') return Math.min(Math.max(1, Math.floor(spec)), hostCount);
  const pct = Number(spec.slice(0, -1));
  return Math.min(Math.max(1, Math.ceil((hostCount * pct) / 100)), hostCount);
}

/**
 * Splits hosts into batches. The canary goes alone so a bad release touches one host before any other;
 * with `canary: false` (a rollback, which only returns to a release that already served) batches start at once.
 */
export function planBatches<T>(hosts: readonly T[], spec: BatchSpec, opts: { canary?: boolean } = {}): T[][] {
  const canary = opts.canary ?? true;
  const size = batchSize(spec, hosts.length);
  const batches: T[][] = [];
  let rest = [...hosts];
  if (canary && rest.length > 1) {
    batches.push(rest.slice(0, 1));
    rest = rest.slice(1);
  }
  for (let i = 0; i < rest.length; i += size) batches.push(rest.slice(i, i + size));
  return batches;
}

/** Runs `fn` over items with at most `limit` in flight, keeping result order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  });
  await Promise.all(workers);
  return results;
}
