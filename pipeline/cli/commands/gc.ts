import { UsageError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import { createRegistry } from '../../registry/create-registry';
import { deleteUnreferenced, surveyRuntimes } from '../../registry/runtime-gc';
import type { Command } from '../command';
import { formatBytes, table } from '../io';

const DEFAULT_MIN_AGE = '24h';

export const command: Command = {
  usage: 'ferry gc [--delete] [--min-age DURATION]',
  help: `Finds packed Node runtimes in the registry that no published release names any more (after
releases were deleted by hand, or a publish that uploaded its runtime never finished). Reads every
manifest under registry.prefix, of every app, since runtimes are shared. Only reports, unless --delete.
A runtime named by any published manifest is never deleted, nor one younger than --min-age (a publish
uploads its runtime before its manifest).

options:
      --delete             delete the unreferenced runtimes (the registry is surveyed again first)
      --min-age DURATION   grace period for unreferenced runtimes (default ${DEFAULT_MIN_AGE}): 0, 90s, 30m, 24h, 7d

examples:
  ferry gc
  ferry gc --delete --json`,
  options: { delete: { type: 'boolean' }, 'min-age': { type: 'string' } },
  async run(ctx) {
    const config = ctx.config();
    const minAgeMs = parseDuration((ctx.flags['min-age'] as string | undefined) ?? DEFAULT_MIN_AGE);
    const registry = createRegistry(config.registry, ctx.io.env);
    const opts = { now: new Date(), minAgeMs };
    const survey = await surveyRuntimes(registry, config.registry.prefix, opts);
    const deleted =
      ctx.flags.delete === true
        ? await deleteUnreferenced(registry, config.registry.prefix, survey, opts)
        : [];
    const unreferenced = survey.runtimes.filter((r) => r.status === 'unreferenced');
    ctx.out.result({
      ok: true,
      registry: registry.description,
      manifests: survey.manifests,
      runtimes: survey.runtimes.map((r) => ({ ...r, deleted: deleted.includes(r.key) })),
      deleted,
    });
    if (ctx.out.json) return ExitCode.Ok;

    if (survey.runtimes.length === 0) {
      ctx.out.print(`no runtimes in ${registry.description}`);
      return ExitCode.Ok;
    }
    const [head, ...lines] = table(
      ['RUNTIME', 'SIZE', 'UPLOADED', 'STATUS'],
      survey.runtimes.map((r) => [
        r.key.slice(r.key.lastIndexOf('/') + 1),
        formatBytes(r.size),
        r.lastModified.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC'),
        deleted.includes(r.key)
          ? 'deleted'
          : r.status === 'kept'
            ? `used by ${summarise(r.usedBy)}`
            : r.status === 'recent'
              ? `unreferenced, kept: younger than ${ctx.flags['min-age'] ?? DEFAULT_MIN_AGE}`
              : 'unreferenced',
      ]),
    );
    ctx.out.print(ctx.style.bold(head ?? ''));
    for (const l of lines) ctx.out.print(l);
    const bytes = unreferenced.reduce((n, r) => n + r.size, 0);
    if (ctx.flags.delete === true) {
      ctx.out.print(`deleted ${deleted.length} runtime(s), ${formatBytes(bytes)}`);
    } else if (unreferenced.length > 0) {
      ctx.out.print(
        `${unreferenced.length} unreferenced runtime(s), ${formatBytes(bytes)}: \`ferry gc --delete\` deletes them`,
      );
    } else ctx.out.print(`every runtime is used by a published release (${survey.manifests} read)`);
    return ExitCode.Ok;
  },
};

function summarise(users: readonly string[]): string {
  return users.length <= 3
    ? users.join(', ')
    : `${users.slice(0, 3).join(', ')} and ${users.length - 3} more`;
}

const UNIT_MS: Record<string, number> = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const m = /^\s*([0-9]+)\s*([smhd]?)\s*$/.exec(text);
  const unit = UNIT_MS[m?.[2] ?? 'x'];
  if (!m || unit === undefined) {
    throw new UsageError(`--min-age: "${text}" is not a duration`, { remedy: 'use 0, 90s, 30m, 24h or 7d' });
  }
  return Number(m[1]) * unit;
}
