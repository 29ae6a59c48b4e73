import { readAudit } from '../../deploy/audit';
import { UsageError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import type { Command } from '../command';
import { fleetContext } from '../fleet';
import { table } from '../io';

export const command: Command = {
  usage: 'ferry history <env> [--limit N] [--json]',
  help: `Shows the environment's audit log, oldest first: every deploy, rollback and unlock with who ran
it, when, the versions involved, the result and the per-host outcome. Kept in the registry, so it needs
no SSH and survives any host.

options:
      --limit N   the newest N entries (default 20)`,
  options: { limit: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const fleet = fleetContext(ctx);
    const limit = Number(ctx.flags.limit ?? 20);
    if (!Number.isInteger(limit) || limit < 1)
      throw new UsageError(`--limit must be a positive whole number`);
    const { config, envCfg } = fleet;
    const entries = await readAudit(
      fleet.registry,
      config.registry.prefix,
      config.app.name,
      envCfg.name,
      limit,
    );
    ctx.out.result({ ok: true, env: envCfg.name, entries });
    if (ctx.out.json) return ExitCode.Ok;
    if (entries.length === 0) {
      ctx.out.print(`no recorded actions on ${envCfg.name} yet`);
      return ExitCode.Ok;
    }
    const rows = entries.map((e) => [
      e.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      e.who,
      e.op,
      e.version ?? '-',
      e.from ?? '-',
      e.result,
      e.durationMs ? `${(e.durationMs / 1000).toFixed(1)}s` : '-',
      e.error ?? '',
    ]);
    for (const l of table(['TIME', 'WHO', 'OP', 'VERSION', 'FROM', 'RESULT', 'TOOK', 'NOTE'], rows))
      ctx.out.print(l);
    return ExitCode.Ok;
  },
};
