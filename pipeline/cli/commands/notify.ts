import { NOTIFY_EVENTS, type NotifyEventName } from '../../config/schema-notifications';
import { UsageError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import type { NotifyEvent } from '../../notify/event';
import { baseOf, notifierFor } from '../../notify/fleet-events';
import type { Command } from '../command';
import { fleetContext, table } from '../fleet';

export const command: Command = {
  usage: 'ferry notify <env> [--event E]',
  help: `Sends a test message to every notifications: target of <env> (whatever events it asked for) and
says, per target, whether the service took it: the way to check a bot's URL, its signing secret and the
environment variables they come from before a real deploy relies on them. Nothing is deployed; the
message says it is a test. Exits 1 if any target failed.

options:
      --event E   which message to send as the test (default deploy.succeeded): one of
                  ${NOTIFY_EVENTS.join(', ')}

examples:
  ferry notify production
  ferry notify staging --event deploy.failed`,
  options: { event: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const fleet = fleetContext(ctx);
    const name = (ctx.flags.event as string | undefined) ?? 'deploy.succeeded';
    if (!(NOTIFY_EVENTS as readonly string[]).includes(name)) {
      throw new UsageError(`--event must be one of ${NOTIFY_EVENTS.join(', ')}`);
    }
    const event = name as NotifyEventName;
    const failed = event === 'deploy.failed' || event === 'host.reverted';
    const sample: NotifyEvent = {
      ...baseOf(fleet),
      event,
      test: true,
      version: '0.0.0-test',
      from: null,
      time: new Date().toISOString(),
      ok: !failed,
      hosts: fleet.envCfg.hosts.length,
      ...(failed
        ? { failure: { host: fleet.envCfg.hosts[0]?.name ?? null, reason: 'test: nothing failed' } }
        : {}),
    };
    const notifier = notifierFor(fleet);
    const count = notifier.emitToAll(sample);
    const deliveries = await notifier.flush();
    const ok = deliveries.every((d) => d.ok);
    ctx.out.result({ ok, env: fleet.envCfg.name, event, deliveries });
    if (count === 0) {
      ctx.out.print(
        `no notifications: target covers ${fleet.envCfg.name}; add one to releases.yaml (docs/deploy.md)`,
      );
      return ExitCode.Ok;
    }
    for (const l of table(
      ['TARGET', 'RESULT', 'NOTE'],
      deliveries.map((d) => [d.target, d.ok ? 'ok' : 'FAILED', d.error ?? '']),
    )) {
      ctx.out.print(l);
    }
    return ok ? ExitCode.Ok : ExitCode.Failure;
  },
};
