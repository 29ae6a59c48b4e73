// `ferry status <env>`: what each host runs, read from its agent (no lock taken, nothing changed), plus
// the environment's record and lock from the registry.
import { readEnvRecord } from '../registry/env-record';
import { runAgent } from './agent-client';
import { readAudit } from './audit';
import type { FleetContext } from './context';
import { envLockKey, readEnvLock } from './env-lock';
import { mapLimit } from './plan';
import { closeHosts, openHosts } from './session';

export interface HostStatus {
  host: string;
  reachable: boolean;
  error?: string;
  current?: string | null;
  previous?: string | null;
  lastGood?: string | null;
  bad?: string[];
  releases?: { version: string; installedAt?: string; bad?: boolean; current?: boolean }[];
  health?: { ok: boolean; version?: string; error?: string };
  agentVersion?: string;
  protocol?: number;
  runtime?: {
    serving: { node: string; path: string } | null;
    supervisor: { node: string; path: string } | null;
    agent: { node: string; path: string };
    installed: { node: string; arch: string; sha256: string; dir: string }[];
  };
  lock?: unknown;
  service?: unknown;
  lastAction?: unknown;
  journal?: unknown;
  /** Maintenance mode (docs/deploy.md): absent from agents older than it. */
  maintenance?: { on: boolean; message?: string; since?: string; by?: string; applied: boolean };
}

export async function statusEnv(ctx: FleetContext) {
  const { config, envCfg } = ctx;
  const { prefix } = config.registry;
  const [record, lock, audit] = await Promise.all([
    readEnvRecord(ctx.registry, prefix, config.app.name, envCfg.name),
    readEnvLock(ctx.registry, envLockKey(prefix, config.app.name, envCfg.name)),
    readAudit(ctx.registry, prefix, config.app.name, envCfg.name, 1),
  ]);
  const hosts = await openHosts(envCfg, ctx.env);
  try {
    const statuses = await mapLimit(hosts, envCfg.concurrency, async (h): Promise<HostStatus> => {
      const r = await runAgent(h.t, h.host.path, 'status', {}, { timeoutMs: 60_000 });
      if (!r.ok) return { host: h.host.name, reachable: false, error: r.error?.message ?? 'status failed' };
      const { ok: _ok, op: _op, exitCode: _code, event: _e, ...fields } = r;
      return { host: h.host.name, reachable: true, ...(fields as Omit<HostStatus, 'host' | 'reachable'>) };
    });
    const versions = new Set(statuses.map((s) => s.current ?? null));
    return {
      env: envCfg.name,
      record,
      lock,
      lastAction: audit[0] ?? null,
      converged: versions.size === 1 && statuses.every((s) => s.reachable),
      hosts: statuses,
    };
  } finally {
    await closeHosts(hosts);
  }
}
