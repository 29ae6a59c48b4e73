import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setupEnv } from '../../deploy/setup';
import { FerryError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import type { Command } from '../command';
import { fleetContext } from '../fleet';

export const command: Command = {
  usage: 'ferry setup <env> [--env-file FILE] [--pull]',
  help: `Prepares every host of <env>: creates the layout (releases/, shared/, .ferry/), installs this
version of the host agent and the registry's public key, writes the service settings, and installs the
service: a systemd unit (ssh environments; needs a sudo rule for install/systemctl) or a supervised
process (local environments, hosts without systemd). Safe to run again: it converges.

options:
      --env-file FILE   upload FILE as shared/.env (mode 0600) on every host: the service's secrets.
                        Without it an existing shared/.env is kept as it is.
      --pull            pull mode (docs/pull.md): write .ferry/pull.json so each host can run
                        \`agent sync\`, and in systemd mode install the <unit>-sync timer that runs it
                        every environments.<env>.pull.intervalSeconds. Implied by a pull: block.

examples:
  ferry setup production --env-file ./production.env
  ferry setup local`,
  options: { 'env-file': { type: 'string' }, pull: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const fleet = fleetContext(ctx);
    const envFile = ctx.flags['env-file'] as string | undefined;
    const bundleDir = await mkdtemp(join(tmpdir(), 'ferry-agent-'));
    try {
      const outcomes = await setupEnv(fleet, {
        bundleDir,
        pull: ctx.flags.pull === true,
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
