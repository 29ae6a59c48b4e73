import { describe, expect, it } from 'vitest';
import { batchSize, mapLimit, planBatches } from '../../../pipeline/deploy/plan';

describe('batchSize', () => {
  it.each([
    [1, 5, 1],
    [3, 5, 3],
    [10, 5, 5],
    ['25%', 8, 2],
    ['25%', 5, 2],
    ['100%', 20, 20],
    ['1%', 20, 1],
  ] as const)('batch %s over %i hosts → %i', (spec, n, want) => {
    expect(batchSize(spec, n)).toBe(want);
  });
});

describe('planBatches', () => {
  const hosts = ['a', 'b', 'c', 'd', 'e', 'f'];
  it('sends the canary alone, then fixed-size batches', () => {
    expect(planBatches(hosts, 2)).toEqual([['a'], ['b', 'c'], ['d', 'e'], ['f']]);
    expect(planBatches(hosts, '50%')).toEqual([['a'], ['b', 'c', 'd'], ['e', 'f']]);
    expect(planBatches(hosts, '100%')).toEqual([['a'], ['b', 'c', 'd', 'e', 'f']]);
  });
  it('skips the canary when asked and for a single host', () => {
    expect(planBatches(hosts, 4, { canary: false })).toEqual([
      ['a', 'b', 'c', 'd'],
      ['e', 'f'],
    ]);
    expect(planBatches(['solo'], 1)).toEqual([['solo']]);
    expect(planBatches([], 1)).toEqual([]);
  });
});

describe('mapLimit', () => {
  it('never exceeds the cap and keeps order', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, n * 3));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});
