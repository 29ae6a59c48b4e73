import { ConfigError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import { verifyPublished } from '../../publish/verify';
import { createRegistry } from '../../registry/create-registry';
import { readIndex } from '../../registry/release-index';
import type { Command } from '../command';

export const command: Command = {
  usage: 'ferry verify [VERSION]',
  help: `Downloads a published release and checks it as a host would: the signature against
signing.publicKey, the manifest's app and version, the artifact's size and sha256, each pinned
runtime, and the source map object beside the artifact (which hosts never fetch).
Exits 5 when a check fails. Without VERSION, checks the newest published version.

examples:
  ferry verify
  ferry verify 1.4.0 --json`,
  positionals: { max: 1 },
  async run(ctx) {
    const config = ctx.config();
    const publicKey = config.signing.publicKey;
    if (!publicKey) {
      throw new ConfigError(`signing.publicKey is not set in ${config.file}`, {
        remedy: 'paste the public key line from `ferry keygen`',
      });
    }
    const registry = createRegistry(config.registry, ctx.io.env);
    const { prefix } = config.registry;
    const version =
      ctx.positionals[0] ?? (await readIndex(registry, prefix, config.app.name)).versions[0]?.version;
    if (version === undefined) {
      ctx.out.print(`no releases of ${config.app.name} published yet`);
      ctx.out.result({ ok: true, version: null });
      return ExitCode.Ok;
    }
    const check = await verifyPublished(registry, prefix, config.app.name, version, publicKey);
    ctx.out.result(check.ok ? { ok: true, version } : { ok: false, version, reason: check.reason });
    if (check.ok) {
      ctx.out.print(`${ctx.style.green('verified')} ${config.app.name} ${version}`);
      return ExitCode.Ok;
    }
    ctx.io.stderr.write(
      `${ctx.style.red('verification failed:')} ${config.app.name} ${version}: ${check.reason}\n`,
    );
    return ExitCode.Verification;
  },
};
