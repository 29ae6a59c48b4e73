// Which release each environment runs, recorded in the registry at {prefix}/{app}/environments/<env>.json.
// The deploy work writes it after a rollout or rollback; `ferry releases` reads it to show where each
// version runs. One small JSON object per environment; the last writer wins, which is right for "current".
import { environmentKey, environmentsPrefix } from '../release/layout';
import type { Registry } from './registry';

export interface EnvironmentRecord {
  env: string;
  version: string;
  /** The version it replaced, for rollback; null on a first deploy. */
  previous?: string | null;
  /** ISO time of the switch. */
  updatedAt: string;
  /** Who or what switched it: a user, "ci:<job>", ... */
  by: string;
}

export async function readEnvRecord(
  registry: Registry,
  prefix: string,
  app: string,
  env: string,
): Promise<EnvironmentRecord | null> {
  const bytes = await registry.get(environmentKey(prefix, app, env));
  return bytes === null ? null : parseEnvRecord(bytes);
}

export async function writeEnvRecord(
  registry: Registry,
  prefix: string,
  app: string,
  record: EnvironmentRecord,
): Promise<void> {
  const body = Buffer.from(
    `${JSON.stringify({
      env: record.env,
      version: record.version,
      previous: record.previous ?? null,
      updatedAt: record.updatedAt,
      by: record.by,
    })}\n`,
  );
  await registry.put(environmentKey(prefix, app, record.env), body, { contentType: 'application/json' });
}

/** Every environment's record; unreadable records are skipped rather than failing a listing. */
export async function listEnvRecords(
  registry: Registry,
  prefix: string,
  app: string,
): Promise<EnvironmentRecord[]> {
  const records: EnvironmentRecord[] = [];
  for (const o of await registry.list(environmentsPrefix(prefix, app))) {
    if (!o.key.endsWith('.json')) continue;
    const bytes = await registry.get(o.key);
    if (bytes === null) continue;
    try {
      records.push(parseEnvRecord(bytes));
    } catch {
      // A half-written or foreign file must not break `ferry releases`.
    }
  }
  return records.sort((a, b) => (a.env < b.env ? -1 : a.env > b.env ? 1 : 0));
}

export function parseEnvRecord(bytes: Buffer | string): EnvironmentRecord {
  const r = JSON.parse(bytes.toString()) as EnvironmentRecord;
  if (typeof r?.env !== 'string' || typeof r.version !== 'string' || typeof r.updatedAt !== 'string') {
    throw new Error('environment record is malformed');
  }
  return {
    env: r.env,
    version: r.version,
    previous: r.previous ?? null,
    updatedAt: r.updatedAt,
    by: String(r.by ?? ''),
  };
}
