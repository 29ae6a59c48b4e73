import { deployEnv } from '../../deploy/deploy';
import type { Command } from '../command';
import { dryRunDiffs } from '../dry-run-diff';
import { fleetContext, outcomeTable, printHeldLock } from '../fleet';

export const command: Command = {
  usage: 'ferry deploy <env> [--version V] [--dry-run] [--allow-bad]',
  help: `Rolls a published release out to every host of <env>: the first host alone as a canary, then
batches of environments.<env>.batch. Each host downloads through a short-lived presigned URL on the
registry's internal endpoint, verifies the signature and checksums, unpacks, switches current atomically,
reloads with zero downtime and health-checks. A host that fails switches back by itself; the rollout stops
and returns every host it already switched, so the fleet never ends split between versions.

options:
      --version V    the release to deploy (default: the newest published)
      --dry-run      print the per-host plan, and what the release changes against what the hosts
                     run (as \`ferry diff\` shows it); change nothing
      --allow-bad    deploy a version that hosts marked bad after an earlier failure

examples:
  ferry deploy production
  ferry deploy staging --version 1.4.0 --dry-run`,
  options: { version: { type: 'string' }, 'dry-run': { type: 'boolean' }, 'allow-bad': { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const fleet = fleetContext(ctx);
    const r = await deployEnv(fleet, {
      version: ctx.flags.version as string | undefined,
      dryRun: ctx.flags['dry-run'] === true,
      allowBad: ctx.flags['allow-bad'] === true,
    });
    if (!r.dryRun) {
      ctx.out.print('');
      for (const l of outcomeTable(r.outcomes)) ctx.out.print(l);
      ctx.out.print(
        r.ok
          ? ctx.style.green(`${r.env} is serving ${r.version}`)
          : ctx.style.red(
              `deploy of ${r.version} to ${r.env} failed; hosts are back on their previous release`,
            ),
      );
      // A host's first release has nothing to go back to: say so rather than claim it was returned.
      const kept = r.ok ? [] : r.outcomes.filter((o) => o.ok && o.from === null && !o.reverted);
      if (kept.length > 0) {
        ctx.out.warn(
          `${kept.map((o) => o.host).join(', ')} had no earlier release and keep ${r.version}; deploy a fixed version to converge`,
        );
      }
    }
    const diffs =
      r.dryRun && r.version && r.plan ? await dryRunDiffs(ctx, fleet, r.version, r.plan) : undefined;
    printHeldLock(ctx, r.lock);
    ctx.out.result(diffs ? { ...r, diffs } : r);
    return r.exitCode;
  },
};
