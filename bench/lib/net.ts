// Ports and readiness on loopback.

import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Tracked } from './procs';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls url until it answers 2xx; fails early (with the process output) if proc exits. */
export async function waitForHttp(url: string, opts: { timeoutMs?: number; proc?: Tracked } = {}) {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last = '';
  while (Date.now() < deadline) {
    if (opts.proc?.exited()) {
      throw new Error(
        `${opts.proc.name} exited before answering ${url}:\n${opts.proc.output().slice(-2000)}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(50);
  }
  throw new Error(`${url} did not answer 2xx within ${opts.timeoutMs ?? 20_000} ms (${last})`);
}
