import { ExitCode } from '../../exit-codes';
import { readSignedManifest, requirePublicKey } from '../../publish/signed-manifest';
import { createRegistry } from '../../registry/create-registry';
import { diffManifests } from '../../release/diff';
import type { Command } from '../command';
import { diffLines } from '../diff-output';

export const command: Command = {
  usage: 'ferry diff <from> <to>',
  help: `Compares two published releases from their signed manifests, without touching any host:
files added, removed and changed (with sizes), the artifact and bundle size, the Node runtime, the npm
packages in the bundle (added, removed, upgraded, with their licences), app.env and app.port, and each
environment's service and health settings. Both signatures are checked against signing.publicKey first
(exit 5 when one fails). Releases built before Ferry recorded packages and settings say so.

examples:
  ferry diff 1.3.0 1.4.0
  ferry diff 1.3.0 1.4.0 --json`,
  positionals: { min: 2, max: 2 },
  async run(ctx) {
    const config = ctx.config();
    const publicKey = requirePublicKey(config.signing.publicKey, config.file);
    const registry = createRegistry(config.registry, ctx.io.env);
    const [from, to] = ctx.positionals as [string, string];
    const read = (v: string) =>
      readSignedManifest(registry, config.registry.prefix, config.app.name, v, publicKey);
    const [a, b] = await Promise.all([read(from), read(to)]);
    const diff = diffManifests(a, b);
    ctx.out.result({ ok: true, ...diff });
    for (const l of diffLines(diff, ctx.style)) ctx.out.print(l);
    return ExitCode.Ok;
  },
};
