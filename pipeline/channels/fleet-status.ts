// `ferry status <env> --from-registry`: the environment as its pull-mode hosts last reported it, read from
// the registry alone (no SSH): the channel, and per host what it runs, when it last synced and how that
// went. A host whose report is older than three sync periods is flagged stale: it may be down.
import type { FleetContext } from '../deploy/context';
import { envLockKey, readEnvLock } from '../deploy/env-lock';
import { type HostSyncStatus, listHostStatuses } from './host-status';
import { readChannel } from './issue';

export interface RegistryHostRow extends Partial<HostSyncStatus> {
  host: string;
  /** No report from this configured host yet. */
  missing: boolean;
  stale: boolean;
  /** A report from a host releases.yaml does not list (renamed or removed). */
  unknown: boolean;
}

export async function registryStatus(ctx: FleetContext, now = Date.now()) {
  const { config, envCfg } = ctx;
  const { prefix } = config.registry;
  const app = config.app.name;
  const [stored, statuses, lock] = await Promise.all([
    readChannel(ctx.registry, prefix, app, envCfg.name, config.signing.publicKey),
    listHostStatuses(ctx.registry, prefix, app, envCfg.name),
    readEnvLock(ctx.registry, envLockKey(prefix, app, envCfg.name)),
  ]);
  const period = (envCfg.pull?.intervalSeconds ?? 120) + (envCfg.pull?.jitterSeconds ?? 60);
  const staleMs = 3 * period * 1000;
  const byName = new Map(statuses.map((s) => [s.host, s]));
  const configured = new Set(envCfg.hosts.map((h) => h.name));
  const rows: RegistryHostRow[] = [
    ...envCfg.hosts.map((h) => {
      const s = byName.get(h.name);
      if (!s) return { host: h.name, missing: true, stale: false, unknown: false };
      return { ...s, missing: false, stale: now - Date.parse(s.lastSync) > staleMs, unknown: false };
    }),
    ...statuses
      .filter((s) => !configured.has(s.host))
      .map((s) => ({ ...s, missing: false, stale: now - Date.parse(s.lastSync) > staleMs, unknown: true })),
  ];
  const channel = stored
    ? {
        ...stored.channel,
        signatureOk: stored.signatureOk,
        expired: Date.parse(stored.channel.expiresAt) <= now,
        ...(stored.problem ? { problem: stored.problem } : {}),
      }
    : null;
  const converged =
    channel !== null &&
    rows
      .filter((r) => !r.unknown)
      .every((r) => !r.missing && !r.stale && r.result === 'ok' && r.version === channel.version);
  return { env: envCfg.name, source: 'registry' as const, channel, lock, converged, hosts: rows };
}
