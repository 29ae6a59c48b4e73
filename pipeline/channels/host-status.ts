// What each host in pull mode reports after every sync, at {prefix}/{app}/status/<env>/<host>.json, so
// `ferry status --from-registry` needs no SSH. The agent writes it; the CLI lists it.
import type { Registry } from '../registry/registry';
import { hostStatusPrefix } from '../release/layout';

export type SyncResult = 'ok' | 'failed' | 'rolled-back' | 'refused' | 'skipped';

export interface HostSyncStatus {
  schema: 1;
  app: string;
  env: string;
  host: string;
  /** What `current` points to after the sync. */
  version: string | null;
  previous: string | null;
  /** The channel this sync acted on (null when there was none, or it was refused unread). */
  channel: { version: string; sequence: number; expiresAt: string } | null;
  /** The highest channel sequence this host ever accepted. */
  acceptedSequence: number | null;
  lastSync: string;
  /**
   * ok: serving the channel's version (changed says whether this sync switched); failed: nothing changed
   * (download, credentials, bad release...); rolled-back: the release failed its gate and the host went
   * back; refused: the channel was replayed, expired or badly signed; skipped: a push rollout held the lock.
   */
  result: SyncResult;
  changed: boolean;
  error: { code: string; message: string; step?: string } | null;
  agentVersion: string;
  durationMs: number;
}

export function serializeHostStatus(s: HostSyncStatus): Buffer {
  return Buffer.from(`${JSON.stringify(s)}\n`);
}

export function parseHostStatus(bytes: Buffer | string): HostSyncStatus {
  const s = JSON.parse(bytes.toString()) as HostSyncStatus;
  if (typeof s?.host !== 'string' || typeof s.lastSync !== 'string' || typeof s.result !== 'string') {
    throw new Error('host status is malformed');
  }
  return s;
}

/** Every host's last report, sorted by host; unreadable objects are skipped, not fatal. */
export async function listHostStatuses(
  registry: Registry,
  prefix: string,
  app: string,
  env: string,
): Promise<HostSyncStatus[]> {
  const objects = (await registry.list(hostStatusPrefix(prefix, app, env))).filter((o) =>
    o.key.endsWith('.json'),
  );
  const statuses = await Promise.all(
    objects.map(async (o) => {
      const bytes = await registry.get(o.key);
      try {
        return bytes ? parseHostStatus(bytes) : null;
      } catch {
        return null;
      }
    }),
  );
  return statuses
    .filter((s): s is HostSyncStatus => s !== null)
    .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}
