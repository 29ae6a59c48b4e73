// The environment's audit log: one small object per action in the registry, so it needs no append
// support, survives any one host, and `ferry history` reads it without SSH. Keys sort by time.
import { randomBytes } from 'node:crypto';
import type { HookRun } from '../hooks/spec';
import type { Registry } from '../registry/registry';
import type { FailureDetails } from './agent-client';

export interface AuditEntry {
  time: string;
  env: string;
  who: string;
  op: string;
  version?: string | null;
  from?: string | null;
  result: 'ok' | 'failed' | 'rolled-back' | 'note';
  hosts?: {
    host: string;
    ok: boolean;
    from?: string | null;
    to?: string | null;
    error?: string;
    /** Why a host refused the release: its new workers' last output and the failing health answer. */
    details?: FailureDetails;
    /** beforeSwitch/afterSwitch runs on that host, with their output. */
    hooks?: HookRun[];
  }[];
  /** afterDeploy runs on the machine that ran ferry, with their output. */
  hooks?: HookRun[];
  error?: string;
  durationMs?: number;
}

export function auditPrefix(prefix: string, app: string, env: string): string {
  return `${[prefix, app, 'audit', env].filter((p) => p.length > 0).join('/')}/`;
}

export async function appendAudit(
  registry: Registry,
  prefix: string,
  app: string,
  entry: AuditEntry,
): Promise<void> {
  const stamp = entry.time.replace(/[:.]/g, '-');
  const key = `${auditPrefix(prefix, app, entry.env)}${stamp}-${randomBytes(3).toString('hex')}.json`;
  await registry.put(key, Buffer.from(`${JSON.stringify(entry)}\n`), {
    forbidOverwrite: true,
    contentType: 'application/json',
  });
}

/** The newest `limit` entries, oldest first. */
export async function readAudit(
  registry: Registry,
  prefix: string,
  app: string,
  env: string,
  limit = 20,
): Promise<AuditEntry[]> {
  const objects = (await registry.list(auditPrefix(prefix, app, env))).filter((o) => o.key.endsWith('.json'));
  const newest = objects.slice(-limit);
  const entries = await Promise.all(
    newest.map(async (o) => {
      const bytes = await registry.get(o.key);
      try {
        return bytes ? (JSON.parse(bytes.toString()) as AuditEntry) : null;
      } catch {
        return null;
      }
    }),
  );
  return entries.filter((e): e is AuditEntry => e !== null);
}
