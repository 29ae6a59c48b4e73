import { rollbackEnv } from '../../deploy/rollback';
import type { Command } from '../command';
import { fleetContext, outcomeTable, printHeldLock } from '../fleet';

export const command: Command = {
  usage: 'ferry rollback <env> [--to V]',
  help: `Switches every host of <env> back to its previous release, already on disk: no download, the same
reload and health gate as a deploy. The release rolled away from is marked bad, and a plain rollback never
lands on a release marked bad (it walks further back to the newest good one).

options:
      --to V    roll back to this version (it must still be on the hosts)

examples:
  ferry rollback production
  ferry rollback production --to 1.3.2`,
  options: { to: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const fleet = fleetContext(ctx);
    const r = await rollbackEnv(fleet, { to: ctx.flags.to as string | undefined });
    ctx.out.print('');
    for (const l of outcomeTable(r.outcomes)) ctx.out.print(l);
    ctx.out.print(
      r.ok
        ? ctx.style.green(`${r.env} rolled back to ${r.version ?? 'the previous release'}`)
        : ctx.style.red(`rollback of ${r.env} failed; see the table above`),
    );
    printHeldLock(ctx, r.lock);
    ctx.out.result(r);
    return r.exitCode;
  },
};
