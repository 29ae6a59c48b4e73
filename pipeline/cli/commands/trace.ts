import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UsageError, VerificationError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import { readSignedManifest, requirePublicKey } from '../../publish/signed-manifest';
import { sourceMapProblem } from '../../publish/verify';
import { createRegistry } from '../../registry/create-registry';
import { releaseKeys } from '../../release/layout';
import { decodeTrace, versionsInTrace } from '../../release/stack-trace';
import type { Command } from '../command';

export const command: Command = {
  usage: 'ferry trace [--version V] [FILE]',
  help: `Decodes a stack trace from a host's log: every position in the minified bundle
(.../releases/1.4.0/app/index.js:1:23456) becomes the source file, line and column it came from
(app/routes/files/list.ts:42:7). Reads FILE, or standard input without one (or with -). The release
is --version, else the one named by the release folder in the trace's paths.

The source map is fetched from the registry (hosts never have it) and checked against the size and
sha256 in the release's signed manifest first (exit 5 when it does not match).

examples:
  journalctl -u ferry-storage -n 50 | ferry trace
  ferry trace --version 1.4.0 crash.log`,
  options: { version: { type: 'string' } },
  positionals: { max: 1 },
  async run(ctx) {
    const config = ctx.config();
    const publicKey = requirePublicKey(config.signing.publicKey, config.file);
    const file = ctx.positionals[0];
    let text: string;
    try {
      text = readFileSync(file === undefined || file === '-' ? 0 : resolve(ctx.io.cwd, file), 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${file ?? 'standard input'}: ${(err as Error).message}`);
    }
    let version = ctx.flags.version as string | undefined;
    if (version === undefined) {
      const found = [...new Set(['app/index.js', 'app/index.mjs'].flatMap((e) => versionsInTrace(text, e)))];
      if (found.length !== 1) {
        throw new UsageError(
          found.length === 0
            ? 'the trace names no release folder (…/releases/<version>/app/index.js)'
            : `the trace names several releases (${found.join(', ')})`,
          { remedy: 'say which with --version V' },
        );
      }
      version = found[0] as string;
    }
    const registry = createRegistry(config.registry, ctx.io.env);
    const { prefix } = config.registry;
    const manifest = await readSignedManifest(registry, prefix, config.app.name, version, publicKey);
    const bytes = manifest.sourceMap
      ? await registry.get(releaseKeys(prefix, config.app.name, version).sourceMap)
      : null;
    const problem = sourceMapProblem(bytes, manifest);
    if (problem) throw new VerificationError(`${config.app.name} ${version}: ${problem}`);
    const map = new SourceMap(JSON.parse(gunzipSync(bytes as Buffer).toString()));
    const decoded = decodeTrace(text, manifest.entry, map);
    ctx.out.result({ ok: true, version, frames: decoded.frames, mapped: decoded.mapped, text: decoded.text });
    if (!ctx.out.json) ctx.io.stdout.write(decoded.text);
    if (decoded.frames === 0) ctx.out.warn(`no position in ${manifest.entry} found in the input`);
    return ExitCode.Ok;
  },
};
