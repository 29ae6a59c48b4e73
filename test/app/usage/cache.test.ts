import { describe, expect, it } from 'vitest';
import { CapacityMonitor } from '../../../app/alerts/monitor';
import { ListingCache } from '../../../app/usage/cache';

describe('ListingCache', () => {
  it('loads once for concurrent callers and serves the cached value until it expires', async () => {
    let now = 0;
    let loads = 0;
    const cache = new ListingCache<number>(1000, 10, () => now);
    const load = async () => ++loads;
    expect(await Promise.all([cache.get('k', load), cache.get('k', load)])).toEqual([1, 1]);
    expect(await cache.get('k', load)).toBe(1);
    now = 1001;
    expect(await cache.get('k', load)).toBe(2);
  });

  it("folds this process's writes into the cached value", async () => {
    const cache = new ListingCache<number>(60_000);
    await cache.get('k', async () => 100);
    cache.apply('k', (v) => v + 5);
    expect(await cache.get('k', async () => 0)).toBe(105);
  });

  it('reloads when a write lands during a load, instead of caching a maybe-stale listing', async () => {
    const cache = new ListingCache<number>(60_000);
    let release!: () => void;
    let calls = 0;
    const load = async () => {
      calls++;
      if (calls === 1) await new Promise<void>((r) => (release = r));
      return calls * 10;
    };
    const pending = cache.get('k', load);
    await new Promise((r) => setTimeout(r, 0));
    cache.apply('k', (v) => v + 1);
    release();
    expect(await pending).toBe(20);
    expect(calls).toBe(2);
  });

  it('evicts the least recently loaded keys beyond its size', async () => {
    const cache = new ListingCache<string>(60_000, 2);
    for (const k of ['a', 'b', 'c']) await cache.get(k, async () => k);
    expect([cache.peek('a'), cache.peek('b'), cache.peek('c')]).toEqual([undefined, 'b', 'c']);
  });
});

describe('CapacityMonitor', () => {
  it('alerts once per upward crossing, after a silent baseline', () => {
    const sent: number[] = [];
    const log = { info: () => {}, warn: () => {} };
    const m = new CapacityMonitor(1000, [80, 95], (_msg, d) => sent.push(d.threshold), log);
    m.observe(850); // baseline: above 80 at start, not sent
    m.observe(900);
    expect(sent).toEqual([]);
    m.observe(960);
    m.observe(970);
    expect(sent).toEqual([95]);
    m.observe(500); // re-armed
    m.observe(990); // straight past both: one alert, for the highest
    expect(sent).toEqual([95, 95]);
    m.observe(850);
    m.observe(700);
    m.observe(820);
    expect(sent).toEqual([95, 95, 80]);
  });
});
