// Rules for hooks: and notifications: that the JSON schema cannot express, because they depend on the
// environments (lock lifetimes, names) or on the target type. Called from checks.ts on parsed data.
import type { Problem } from './problems';
import type { ReleasesFile } from './schema';
import { DEFAULT_HOOK_TIMEOUT_SECONDS, HOOK_PHASES } from './schema-hooks';

const DEFAULT_LOCK_TTL = 900;
/** Types whose receivers have no signature scheme: a secret there would be silently unused. */
const UNSIGNED = new Set(['wecom', 'slack']);

export function hookProblems(file: Partial<ReleasesFile>): Problem[] {
  const hooks = asRecord(file.hooks);
  const envs = envEntries(file);
  const problems: Problem[] = [];
  for (const phase of HOOK_PHASES) {
    const list = hooks?.[phase];
    if (!Array.isArray(list)) continue;
    list.forEach((hook: unknown, i) => {
      // Each entry on its own: a typo in one must not hide this problem in another.
      const set = asRecord(hook)?.timeoutSeconds;
      if (set !== undefined && typeof set !== 'number') return;
      const timeout = set ?? DEFAULT_HOOK_TIMEOUT_SECONDS;
      // Neither the environment lock nor the host lock is renewed while a hook runs, so a hook that may
      // outlive them would let a second deploy start beside it.
      const tight = envs.find(([, ttl]) => timeout >= ttl);
      if (tight) {
        problems.push({
          path: ['hooks', phase, i, 'timeoutSeconds'],
          message: `must be shorter than environments.${tight[0]}.lockTtlSeconds (${tight[1]}): the deploy lock must outlive the hook (${timeout}s${set === undefined ? ', the default' : ''}); lower it or raise lockTtlSeconds`,
        });
      }
    });
  }
  return problems;
}

export function notificationProblems(file: Partial<ReleasesFile>): Problem[] {
  if (!Array.isArray(file.notifications)) return [];
  const known = envEntries(file).map(([name]) => name);
  const problems: Problem[] = [];
  file.notifications.forEach((entry: unknown, i) => {
    const n = asRecord(entry);
    if (!n) return;
    if (n.secret !== undefined && typeof n.type === 'string' && UNSIGNED.has(n.type)) {
      problems.push({
        path: ['notifications', i, 'secret'],
        message: `${n.type} webhooks are not signed, so the secret would be unused: remove it (the URL alone is the credential)`,
      });
    }
    if (!Array.isArray(n.environments)) return;
    n.environments.forEach((env: unknown, j) => {
      if (typeof env === 'string' && !known.includes(env)) {
        problems.push({
          path: ['notifications', i, 'environments', j],
          message: `is not an environment of this file${known.length > 0 ? ` (${known.join(', ')})` : ''}`,
        });
      }
    });
  });
  return problems;
}

function asRecord(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function envEntries(file: Partial<ReleasesFile>): [string, number][] {
  const envs = file.environments !== null && typeof file.environments === 'object' ? file.environments : {};
  return Object.entries(envs).map(([name, env]) => {
    const ttl = (env as { lockTtlSeconds?: unknown } | null)?.lockTtlSeconds;
    return [name, typeof ttl === 'number' ? ttl : DEFAULT_LOCK_TTL];
  });
}
