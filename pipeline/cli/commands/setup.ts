import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sudoersFileName, sudoersRule } from '../../commands/sudoers';
import { setupEnv } from '../../deploy/setup';
import { FerryError, UsageError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import type { Command, CommandContext } from '../command';
import { fleetContext } from '../fleet';

export const command: Command = {
  usage: 'ferry setup <env> [--env-file FILE] [--pull] [--version V] [--print-sudoers]',
  help: `Prepares every host of <env>, starting from a host with no Node: checks (read-only) that the host
can run the Node runtime the release pins (CPU, glibc, tools), creates the layout (releases/, shared/,
.ferry/), installs that runtime from the registry (verified by sha256) and runs this version of the host
agent on it, installs the registry's public key, writes the service settings, and installs the service:
a systemd unit (ssh environments; needs the sudo rule --print-sudoers shows) or a supervised process
(local environments, hosts without systemd). Safe to run again: it rewrites only what differs, and says
"nothing changed" when nothing did.

options:
      --env-file FILE   upload FILE as shared/.env (mode 0600) on every host: the service's secrets.
                        Without it an existing shared/.env is kept as it is.
      --pull            pull mode (docs/pull.md): write .ferry/pull.json so each host can run
                        \`agent sync\`, and in systemd mode install the <unit>-sync timer that runs it
                        every environments.<env>.pull.intervalSeconds. Implied by a pull: block.
      --version V       take the runtime from release V (default: the environment's current
                        release, else the newest published)
      --print-sudoers   print the sudoers rule each host's deploy user needs in systemd mode, and exit

examples:
  ferry setup production --env-file ./production.env
  ferry setup local`,
  options: {
    'env-file': { type: 'string' },
    pull: { type: 'boolean' },
    version: { type: 'string' },
    'print-sudoers': { type: 'boolean' },
  },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const fleet = fleetContext(ctx);
    if (ctx.flags['print-sudoers'] === true) return printSudoers(ctx, fleet);
    const envFile = ctx.flags['env-file'] as string | undefined;
    const bundleDir = await mkdtemp(join(tmpdir(), 'ferry-agent-'));
    try {
      const outcomes = await setupEnv(fleet, {
        bundleDir,
        pull: ctx.flags.pull === true,
        ...(typeof ctx.flags.version === 'string' ? { version: ctx.flags.version } : {}),
        ...(envFile ? { envFile: resolve(ctx.io.cwd, envFile) } : {}),
      });
      const failed = outcomes.filter((o) => !o.ok);
      ctx.out.result({ ok: failed.length === 0, env: fleet.envCfg.name, hosts: outcomes });
      if (failed.length > 0) {
        throw new FerryError(`setup failed on ${failed.map((f) => f.host).join(', ')}`, {
          remedy: 'fix what the lines above say and run setup again; hosts that succeeded are unaffected',
        });
      }
      ctx.out.print(ctx.style.green(`${fleet.envCfg.name}: ${outcomes.length} host(s) ready`));
      return ExitCode.Ok;
    } finally {
      await rm(bundleDir, { recursive: true, force: true });
    }
  },
};

/** One rule per distinct deploy root (hosts may override the environment's path). */
function printSudoers(ctx: CommandContext, fleet: ReturnType<typeof fleetContext>): number {
  const { envCfg } = fleet;
  if (envCfg.service.mode !== 'systemd') {
    throw new UsageError(`${envCfg.name} runs in ${envCfg.service.mode} mode: its hosts need no sudo rule`);
  }
  const pull = ctx.flags.pull === true || Boolean(envCfg.pull);
  const roots = [...new Set(envCfg.hosts.map((h) => h.path))];
  const rules = roots.map((root) =>
    sudoersRule({ user: envCfg.user ?? 'root', root, unitName: envCfg.service.unitName, pull }),
  );
  ctx.out.result({
    ok: true,
    env: envCfg.name,
    file: `/etc/sudoers.d/${sudoersFileName(envCfg.service.unitName)}`,
    rules,
  });
  for (const r of rules) ctx.out.print(r);
  return ExitCode.Ok;
}
