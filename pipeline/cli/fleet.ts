// Shared by the fleet commands (setup, deploy, rollback, status, unlock, history): the environment
// positional, the registry, who is acting, and the summary table.

import type { FleetContext } from '../deploy/context';
import { environmentOf } from '../deploy/context';
import type { LockNote } from '../deploy/env-lock';
import type { HostOutcome } from '../deploy/rollout';
import { whoAmI } from '../deploy/session';
import { createRegistry } from '../registry/create-registry';
import type { CommandContext } from './command';
import { table } from './io';

// Re-exported for the fleet commands that import it from here.
export { table };

export function fleetContext(ctx: CommandContext): FleetContext {
  const config = ctx.config();
  const envCfg = environmentOf(config, ctx.positionals[0]);
  return {
    config,
    envCfg,
    registry: createRegistry(config.registry, ctx.io.env),
    env: ctx.io.env,
    who: whoAmI(ctx.io.env),
    log: (line) => ctx.out.print(line),
  };
}

export function outcomeTable(outcomes: HostOutcome[]): string[] {
  return table(
    ['HOST', 'RESULT', 'FROM', 'TO', 'BATCH', 'TIME', 'NOTE'],
    outcomes.map((o) => [
      o.host,
      o.skipped ? 'skipped' : o.ok ? (o.reverted ? 'returned' : 'ok') : 'FAILED',
      o.from ?? '-',
      o.reverted?.ok ? (o.from ?? '-') : (o.to ?? '-'),
      o.batch ? String(o.batch) : '-',
      o.durationMs ? `${(o.durationMs / 1000).toFixed(1)}s` : '-',
      o.error
        ? `${o.error.code}: ${o.error.message}${o.selfReverted ? ' (switched back)' : ''}`
        : o.reverted && !o.reverted.ok
          ? `could not return: ${o.reverted.error}`
          : '',
    ]),
  );
}

/** A lock this run could not release, said as an error would be: the message, then the remedy. */
export function printHeldLock(ctx: CommandContext, lock: LockNote | undefined): void {
  if (!lock) return;
  ctx.io.stderr.write(
    `${ctx.style.red('error:')} ${lock.message}\n${ctx.style.dim('hint:')} ${lock.remedy}\n`,
  );
}
