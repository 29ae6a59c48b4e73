import { UsageError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import { createRegistry } from '../../registry/create-registry';
import { listEnvRecords } from '../../registry/env-record';
import { readIndex } from '../../registry/release-index';
import type { Command } from '../command';
import { formatBytes, table } from '../io';

export const command: Command = {
  usage: 'ferry releases [--limit N] [--json]',
  help: `Lists published versions, newest first: version, publish date, artifact size and sha256, commit,
the Node runtime it ships with, and the environments currently running each one (from the registry's
environment records).

options:
      --limit N   show only the newest N versions

examples:
  ferry releases
  ferry releases --json | jq -r '.versions[0].version'`,
  options: { limit: { type: 'string' } },
  async run(ctx) {
    const config = ctx.config();
    const limitText = ctx.flags.limit as string | undefined;
    const limit = limitText === undefined ? Number.POSITIVE_INFINITY : Number(limitText);
    if (!Number.isInteger(limit) && limit !== Number.POSITIVE_INFINITY) {
      throw new UsageError(`--limit must be a whole number, got "${limitText}"`);
    }
    const registry = createRegistry(config.registry, ctx.io.env);
    const { prefix } = config.registry;
    const [index, records] = await Promise.all([
      readIndex(registry, prefix, config.app.name),
      listEnvRecords(registry, prefix, config.app.name),
    ]);
    const versions = index.versions.slice(0, limit).map((v) => ({
      ...v,
      environments: records.filter((r) => r.version === v.version).map((r) => r.env),
    }));
    ctx.out.result({
      ok: true,
      app: config.app.name,
      registry: registry.description,
      versions,
      environments: records,
    });
    if (ctx.out.json) return ExitCode.Ok;

    if (versions.length === 0) {
      ctx.out.print(
        `no releases of ${config.app.name} in ${registry.description} yet; run \`ferry publish\``,
      );
      return ExitCode.Ok;
    }
    // The RUNTIME column appears once any release ships a runtime; older apps keep the old table.
    const withRuntime = versions.some((v) => v.runtime !== undefined);
    const rows = versions.map((v) => [
      v.version,
      v.publishedAt.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC'),
      formatBytes(v.size),
      v.sha256.slice(0, 12),
      v.commit?.slice(0, 7) ?? '-',
      ...(withRuntime ? [v.runtime ? `node ${v.runtime}` : '-'] : []),
      v.environments.join(', ') || '-',
    ]);
    const [head, ...lines] = table(
      [
        'VERSION',
        'PUBLISHED',
        'SIZE',
        'SHA256',
        'COMMIT',
        ...(withRuntime ? ['RUNTIME'] : []),
        'ENVIRONMENTS',
      ],
      rows,
    );
    ctx.out.print(ctx.style.bold(head ?? ''));
    for (const l of lines) ctx.out.print(l);
    return ExitCode.Ok;
  },
};
