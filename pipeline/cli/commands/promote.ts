import { promoteEnv } from '../../channels/promote';
import { UsageError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import type { Command } from '../command';
import { fleetContext, printHeldLock } from '../fleet';

export const command: Command = {
  usage: 'ferry promote <version> <env> [--ttl SECONDS] | ferry promote --refresh <env>',
  help: `Moves the channel of <env> to a published <version>: a signed pointer in the registry that hosts in
pull mode (docs/pull.md) converge to at their next \`agent sync\`, through the same verify, switch and
health gate as ferry deploy. Each issue gets the next sequence number; hosts refuse a channel older than
one they accepted, and one past its expiry. Promoting an older version is how a pull fleet rolls back.
Takes the environment's lock and records the move in the audit log (ferry history).

options:
      --ttl SECONDS    channel lifetime (default environments.<env>.pull.channelTtlSeconds, 7 days)
      --refresh        re-issue the current version with a fresh expiry; run it from CI on a schedule
                       shorter than the TTL (e.g. daily for 7 days), or hosts refuse the channel as frozen
      --sequence N     start from N instead of previous + 1 (recovering from a lost or foreign channel;
                       N must exceed the highest sequence any host accepted)

examples:
  ferry promote 1.4.0 production
  ferry promote 1.3.2 production        # roll the fleet back
  ferry promote --refresh production`,
  options: {
    ttl: { type: 'string' },
    refresh: { type: 'boolean' },
    sequence: { type: 'string' },
  },
  positionals: { min: 1, max: 2 },
  async run(ctx) {
    const refresh = ctx.flags.refresh === true;
    const want = refresh ? 1 : 2;
    if (ctx.positionals.length !== want) {
      throw new UsageError(
        refresh ? 'ferry promote --refresh takes only <env>' : 'ferry promote needs <version> and <env>',
        { remedy: `usage: ${command.usage}` },
      );
    }
    const env = ctx.positionals[want - 1] as string;
    const fleet = fleetContext({ ...ctx, positionals: [env] });
    const r = await promoteEnv(fleet, {
      ...(refresh ? { refresh } : { version: ctx.positionals[0] as string }),
      ttlSeconds: whole(ctx.flags.ttl, '--ttl', 60),
      sequence: whole(ctx.flags.sequence, '--sequence', 1),
      cwd: ctx.io.cwd,
    });
    ctx.out.result({ ok: !r.lock, ...r });
    const from = r.previous ? `${r.previous.version} (sequence ${r.previous.sequence})` : '(no channel)';
    ctx.out.print(
      ctx.style.green(
        `${r.env}: channel ${refresh ? 're-issued' : 'moved'} ${from} → ${r.version} (sequence ${r.sequence}), expires ${r.expiresAt}`,
      ),
    );
    printHeldLock(ctx, r.lock);
    return r.lock ? ExitCode.LockHeld : ExitCode.Ok;
  },
};

function whole(v: unknown, flag: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n < min || !Number.isSafeInteger(n)) {
    throw new UsageError(`${flag} must be a whole number of at least ${min}`);
  }
  return n;
}
