// The warm standby: the generation a deploy replaced, kept up out of rotation for a while, so a rollback to
// it starts no app (the slowest part of a rollback) and only proves it healthy again. One is kept at a
// time; it expires after service.json's standbySec.
import { sleep } from '../host/proc';
import type { Generation } from './generation';
import { passes } from './health';
import type { Worker } from './worker';

export class WarmStandby {
  private kept: { gen: Generation; until: number; timer: NodeJS.Timeout } | null = null;

  /** `expire` retires the generation when its time is up. */
  constructor(private readonly expire: (gen: Generation) => void) {}

  get generation(): Generation | null {
    return this.kept?.gen ?? null;
  }

  get until(): number | null {
    return this.kept?.until ?? null;
  }

  /** Keeps `gen` for `seconds`; returns the generation it displaced, for the caller to retire. */
  keep(gen: Generation, seconds: number): Generation | null {
    const displaced = this.take();
    const timer = setTimeout(() => {
      if (this.kept?.gen !== gen) return;
      this.kept = null;
      this.expire(gen);
    }, seconds * 1000);
    timer.unref();
    this.kept = { gen, until: Date.now() + seconds * 1000, timer };
    return displaced;
  }

  /** Hands the generation over (for a rollback, or to retire it) and forgets it. */
  take(): Generation | null {
    if (!this.kept) return null;
    clearTimeout(this.kept.timer);
    const { gen } = this.kept;
    this.kept = null;
    return gen;
  }
}

/** Every worker passes its gate again on its private port (health 2xx, and its version where the app has one). */
export async function proveAgain(workers: readonly Worker[], deadline: number): Promise<boolean> {
  const healthy = async (w: Worker) => {
    for (let pause = 25; ; pause = Math.min(pause * 2, 250)) {
      const p = await w.probe();
      if (passes(p, w.spec, w.spec.version)) return true;
      if (Date.now() >= deadline || w.isDead()) return false;
      await sleep(pause);
    }
  };
  return (await Promise.all(workers.map(healthy))).every(Boolean);
}
