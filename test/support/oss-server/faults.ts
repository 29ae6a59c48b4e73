import type { Reply } from './errors';

/** Narrows a fault to some requests. Every given field must match. */
export interface FaultFilter {
  method?: string | string[];
  /** A string matches as a key prefix; a RegExp is tested against the key. */
  key?: string | RegExp;
  /** Port name, e.g. 'internal'. */
  port?: string;
  /** Operation name, e.g. 'GetObject', 'UploadPart', 'ListObjectsV2'. */
  op?: string | string[];
}

export interface FaultTarget {
  method: string;
  key: string;
  port: string;
  op: string;
}

export interface FailSpec {
  status: number;
  code?: string;
  message?: string;
}

export interface ResetOptions extends FaultFilter {
  /** Body bytes sent before the reset. Default: half the body. 0 = right after the headers. */
  afterBytes?: number;
  /** 'rst' (default) aborts with a TCP reset; 'fin' closes cleanly, leaving a short body. */
  mode?: 'rst' | 'fin';
}

export type RandomKind = '503' | '500' | 'reset' | 'slow' | 'corrupt';

export interface RandomFaultOptions {
  /** Probability in [0, 1] that a matching request gets a fault. */
  rate: number;
  kinds?: RandomKind[];
  /** PRNG seed: the same seed and request sequence give the same faults. Default 1. */
  seed?: number;
  /** Extra delay of a 'slow' fault. Default 300 ms. */
  slowMs?: number;
  filter?: FaultFilter;
}

/** What a request gets before it is handled. */
export interface PreDecision {
  fail?: FailSpec;
  delayMs: number;
  slow: boolean;
  /** A random reset/corrupt drawn up front, applied once the response is known. */
  pending?: 'reset' | 'corrupt';
}

export interface PostDecision {
  reset?: { afterBytes?: number; mode: 'rst' | 'fin' };
  corrupt: boolean;
}

interface Counted<T> {
  remaining: number;
  filter: FaultFilter;
  spec: T;
}

// Reset and corrupt exist to break downloads; without a method/op filter they aim at GetObject,
// so a list or HEAD the client makes first doesn't swallow the fault.
const DOWNLOADS: FaultFilter = { op: 'GetObject' };

function oneOf(want: string | string[] | undefined, got: string, fold = false): boolean {
  if (want === undefined) return true;
  const list = Array.isArray(want) ? want : [want];
  return list.some((w) => (fold ? w.toUpperCase() === got.toUpperCase() : w === got));
}

export function matches(f: FaultFilter, t: FaultTarget): boolean {
  if (!oneOf(f.method, t.method, true) || !oneOf(f.op, t.op)) return false;
  if (f.port !== undefined && f.port !== t.port) return false;
  if (f.key instanceof RegExp) return f.key.test(t.key);
  return f.key === undefined || t.key.startsWith(f.key);
}

function filterOf(opts: FaultFilter): FaultFilter {
  const { method, key, port, op } = opts;
  const f: FaultFilter = { method, key, port, op };
  return method === undefined && op === undefined ? { ...f, ...DOWNLOADS } : f;
}

/** mulberry32: tiny, seedable, good enough to spread chaos faults reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Faults {
  private fails: Counted<FailSpec>[] = [];
  private resets: Counted<ResetOptions>[] = [];
  private corrupts: Counted<null>[] = [];
  private latencies: { ms: number; filter: FaultFilter }[] = [];
  private chaos?: { opts: RandomFaultOptions; next: () => number };

  /** The next `n` matching requests fail with an OSS error document (503 ServiceUnavailable by default). */
  failNext(n = 1, status: number | FailSpec = 503, filter: FaultFilter = {}): this {
    const spec = typeof status === 'number' ? { status } : status;
    this.fails.push({ remaining: n, filter, spec });
    return this;
  }

  /** The next `n` matching successful responses are cut: headers, part of the body, then a reset. */
  resetNext(n = 1, opts: ResetOptions = {}): this {
    this.resets.push({ remaining: n, filter: filterOf(opts), spec: opts });
    return this;
  }

  /** The next `n` matching downloads get flipped bytes; headers (length, ETag, CRC) stay truthful. */
  corruptNext(n = 1, filter: FaultFilter = {}): this {
    this.corrupts.push({ remaining: n, filter: filterOf(filter), spec: null });
    return this;
  }

  /** Delays every matching response by `ms`; `latency(0)` removes all latency. */
  latency(ms: number, filter: FaultFilter = {}): this {
    if (ms <= 0) this.latencies = [];
    else this.latencies.push({ ms, filter });
    return this;
  }

  /** Probabilistic faults for chaos tests; `random({ rate: 0 })` turns them off. */
  random(opts: RandomFaultOptions): this {
    this.chaos = opts.rate > 0 ? { opts, next: prng(opts.seed ?? 1) } : undefined;
    return this;
  }

  clear(): this {
    this.fails = [];
    this.resets = [];
    this.corrupts = [];
    this.latencies = [];
    this.chaos = undefined;
    return this;
  }

  /** Counted faults not yet used, to assert a test really went through them. */
  remaining(): { fail: number; reset: number; corrupt: number } {
    const sum = (list: Counted<unknown>[]) => list.reduce((n, r) => n + r.remaining, 0);
    return { fail: sum(this.fails), reset: sum(this.resets), corrupt: sum(this.corrupts) };
  }

  before(t: FaultTarget): PreDecision {
    const d: PreDecision = { delayMs: 0, slow: false };
    for (const l of this.latencies) if (matches(l.filter, t)) d.delayMs = Math.max(d.delayMs, l.ms);
    const rule = take(this.fails, t);
    if (rule) {
      d.fail = rule.spec;
      return d;
    }
    if (this.chaos && matches(this.chaos.opts.filter ?? {}, t) && this.chaos.next() < this.chaos.opts.rate) {
      const kinds = this.chaos.opts.kinds ?? ['503', 'reset', 'slow'];
      const kind = kinds[Math.floor(this.chaos.next() * kinds.length)] ?? '503';
      if (kind === '503' || kind === '500') d.fail = { status: Number(kind) };
      else if (kind === 'slow') {
        d.slow = true;
        d.delayMs += this.chaos.opts.slowMs ?? 300;
      } else d.pending = kind;
    }
    return d;
  }

  after(t: FaultTarget, reply: Reply, pre: PreDecision): PostDecision {
    const ok = reply.status < 300;
    const hasData = ok && reply.objectData === true && (reply.body?.length ?? 0) > 0;
    const post: PostDecision = { corrupt: false };
    if (pre.pending === 'reset') post.reset = { mode: 'rst' };
    if (pre.pending === 'corrupt' && hasData) post.corrupt = true;
    if (ok && !post.reset) {
      const r = take(this.resets, t);
      if (r) post.reset = { afterBytes: r.spec.afterBytes, mode: r.spec.mode ?? 'rst' };
    }
    if ((reply.body?.length ?? 0) > 0 && ok && !post.corrupt && !post.reset) {
      post.corrupt = take(this.corrupts, t) !== undefined;
    }
    return post;
  }
}

function take<T>(rules: Counted<T>[], t: FaultTarget): Counted<T> | undefined {
  const rule = rules.find((r) => r.remaining > 0 && matches(r.filter, t));
  if (rule) rule.remaining--;
  return rule;
}
