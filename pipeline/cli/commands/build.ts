import { relative, resolve } from 'node:path';
import { buildRelease } from '../../build/build';
import { ExitCode } from '../../exit-codes';
import type { Command } from '../command';
import { formatBytes } from '../io';
import { runtimeJson, runtimeLines } from '../runtime-output';

export const command: Command = {
  usage: 'ferry build [--version V] [--out DIR] [--no-cache]',
  help: `Bundles app.entry with ncc and packs a reproducible release artifact:
  <out>/<app>-<version>.tar.br (brotli) holding app/index.js (+ assets) and manifest.json, and beside it
  <out>/<app>-<version>.js.map.gz, the bundle's source map (published as its own object; hosts never get it).
The manifest also records the npm packages in the bundle with their licences (from the lockfile) and the
app's settings (app.port, app.env, each environment's service and health): what \`ferry diff\` compares.
Two builds of the same commit give the same bytes (timestamps come from SOURCE_DATE_EPOCH or the commit).
With app.runtime set, build also resolves the Node version and packs bin/node + LICENSE per arch into
.ferry/cache/runtimes (FERRY_CACHE_DIR moves it): exactly what publish will upload next to the release.

options:
      --version V    release version (default: package.json version + "-" + short commit, e.g. 0.1.0-3f2a9c1)
      --out DIR      output folder (default: dist/ next to releases.yaml)
      --no-cache     run ncc even if the bundle cache holds this tree's bundle (the cache is keyed by the
                     lockfile and every project file; .ferry/cache/bundles, FERRY_CACHE_DIR moves it)

examples:
  ferry build
  ferry build --version 1.4.0 --json`,
  options: { version: { type: 'string' }, out: { type: 'string' }, 'no-cache': { type: 'boolean' } },
  async run(ctx) {
    const config = ctx.config();
    const outDir = typeof ctx.flags.out === 'string' ? ctx.flags.out : undefined;
    const result = await buildRelease({
      config,
      env: ctx.io.env,
      version: ctx.flags.version as string | undefined,
      outDir: outDir === undefined ? undefined : resolve(ctx.io.cwd, outDir),
      onStep: (m) => ctx.out.print(ctx.style.dim(m)),
      noCache: ctx.flags['no-cache'] === true,
    });
    ctx.out.print(`${ctx.style.green('built')} ${relative(ctx.io.cwd, result.path) || result.path}`);
    ctx.out.print(`  version  ${result.version}`);
    ctx.out.print(`  size     ${formatBytes(result.size)} (${result.size} bytes)`);
    ctx.out.print(`  sha256   ${result.sha256}`);
    if (result.sourceMapPath && result.manifest.sourceMap)
      ctx.out.print(
        `  map      ${relative(ctx.io.cwd, result.sourceMapPath) || result.sourceMapPath} (${formatBytes(result.manifest.sourceMap.size)}, not in the artifact)`,
      );
    if (result.runtime) for (const l of runtimeLines(result.runtime)) ctx.out.print(l);
    ctx.out.result({
      ok: true,
      path: result.path,
      name: result.manifest.name,
      version: result.version,
      size: result.size,
      sha256: result.sha256,
      commit: result.manifest.commit,
      buildTime: result.manifest.buildTime,
      files: result.manifest.files.length,
      sourceMap: result.sourceMapPath,
      bundleCached: result.bundleCached,
      dependencies: result.manifest.dependencies?.length ?? null,
      runtime: runtimeJson(result.runtime),
    });
    return ExitCode.Ok;
  },
};
