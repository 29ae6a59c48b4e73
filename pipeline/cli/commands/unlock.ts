import { runAgent } from '../../deploy/agent-client';
import { appendAudit } from '../../deploy/audit';
import { breakClaimPrefix, envLockKey, readEnvLock } from '../../deploy/env-lock';
import { mapLimit } from '../../deploy/plan';
import { closeHosts, openHosts } from '../../deploy/session';
import { ExitCode } from '../../exit-codes';
import type { Command } from '../command';
import { fleetContext } from '../fleet';

export const command: Command = {
  usage: 'ferry unlock <env> [--hosts]',
  help: `Removes the environment's deploy lock, for when the run that held it died (a cancelled CI job, a
closed laptop). Locks also expire by themselves after lockTtlSeconds. The removal is recorded in the
audit log.

options:
      --hosts   also remove each host's agent lock (normally broken automatically when its holder died)`,
  options: { hosts: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const fleet = fleetContext(ctx);
    const { config, envCfg } = fleet;
    const key = envLockKey(config.registry.prefix, config.app.name, envCfg.name);
    const held = await readEnvLock(fleet.registry, key);
    await fleet.registry.delete(key);
    // A run that died while breaking an expired lock leaves its claim, which would block the next break.
    for (const claim of await fleet.registry.list(breakClaimPrefix(key)))
      await fleet.registry.delete(claim.key);
    ctx.out.print(
      held
        ? `removed the lock held by ${held.who} since ${held.since} (${held.op})`
        : `${envCfg.name} was not locked`,
    );
    const hostResults: { host: string; wasLocked: boolean }[] = [];
    if (ctx.flags.hosts === true) {
      const hosts = await openHosts(envCfg, fleet.env);
      try {
        await mapLimit(hosts, envCfg.concurrency, async (h) => {
          const r = await runAgent(h.t, h.host.path, 'unlock', {}, { who: fleet.who });
          hostResults.push({ host: h.host.name, wasLocked: r.wasLocked === true });
          if (r.wasLocked) ctx.out.print(`  ${h.host.name}: removed its host lock`);
        });
      } finally {
        await closeHosts(hosts);
      }
    }
    await appendAudit(fleet.registry, config.registry.prefix, config.app.name, {
      time: new Date().toISOString(),
      env: envCfg.name,
      who: fleet.who,
      op: 'unlock',
      result: 'note',
      ...(held ? { error: `removed lock of ${held.who} (${held.op} since ${held.since})` } : {}),
    });
    ctx.out.result({ ok: true, env: envCfg.name, removed: held, hosts: hostResults });
    return ExitCode.Ok;
  },
};
