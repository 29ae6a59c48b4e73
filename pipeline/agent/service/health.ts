// The health gate: the service answers 2xx on its health path AND reports the expected version. The
// version check is what proves the reload took: a supervisor that kept the old workers would still be
// "healthy". An app with no version endpoint (versionPath null) passes on health alone: the supervisor
// has already probed its new workers on their private ports and reported the generation serving.
import http from 'node:http';
import { sleep } from '../host/proc';
import { probeHost, type ServiceConfig } from './config';

export interface Probe {
  ok: boolean;
  status?: number;
  version?: string | null;
  /** The start of a failing health answer's body: often the app's own reason. */
  body?: string;
  error?: string;
}

const BODY_EXCERPT = 300;

function get(
  host: string,
  port: number,
  path: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // agent: false and Connection: close: a probe must not ride a pooled connection to a retiring worker.
    const req = http.get(
      { host, port, path, agent: false, timeout: timeoutMs, headers: { connection: 'close' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < 65536) body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** One probe of health and version on the service's public address. */
export function probe(config: ServiceConfig, timeoutMs = 2000): Promise<Probe> {
  return probeAt(probeHost(config.host), config.port, config, timeoutMs);
}

/** One probe of health and version at host:port (a worker's private port, or the public one). */
export async function probeAt(
  host: string,
  port: number,
  paths: { healthPath: string; versionPath: string | null },
  timeoutMs = 2000,
): Promise<Probe> {
  try {
    const h = await get(host, port, paths.healthPath, timeoutMs);
    if (h.status < 200 || h.status >= 300) {
      return { ok: false, status: h.status, body: h.body.slice(0, BODY_EXCERPT) };
    }
    if (paths.versionPath === null) return { ok: true, status: h.status };
    const v = await get(host, port, paths.versionPath, timeoutMs);
    let version: string | null = null;
    try {
      const parsed = JSON.parse(v.body) as { version?: unknown };
      version = typeof parsed.version === 'string' ? parsed.version : null;
    } catch {
      version = null;
    }
    return { ok: h.status >= 200 && h.status < 300, status: h.status, version };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** Polls until healthy with the expected version or the timeout passes; the last probe says why not. */
export async function waitHealthy(
  config: ServiceConfig,
  expectedVersion: string,
  timeoutSec: number,
): Promise<{ ok: boolean; last: Probe; elapsedMs: number }> {
  const start = Date.now();
  let last: Probe = { ok: false, error: 'not probed' };
  for (;;) {
    last = await probe(config);
    if (passes(last, config, expectedVersion)) return { ok: true, last, elapsedMs: Date.now() - start };
    if (Date.now() - start >= timeoutSec * 1000) return { ok: false, last, elapsedMs: Date.now() - start };
    await sleep(250);
  }
}

/** 2xx on the health path, and the expected version unless the app has no version path. */
export function passes(p: Probe, paths: { versionPath: string | null }, expectedVersion: string): boolean {
  return p.ok && (paths.versionPath === null || p.version === expectedVersion);
}

export function describeProbe(p: Probe, expected: string): string {
  if (p.error) return `no answer (${p.error})`;
  if (!p.ok) {
    const body = p.body?.trim().replace(/\s+/g, ' ');
    return `health answered HTTP ${p.status}${body ? `: ${body}` : ''}`;
  }
  return `version answered ${p.version === null ? 'nothing readable' : `"${p.version}"`}, expected "${expected}"`;
}
