import { relative, resolve } from 'node:path';
import { buildRelease } from '../../build/build';
import { UsageError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import { publishRelease } from '../../publish/publish';
import { checkSigningKey, PROJECT_KEY_FILE, SIGNING_ENV, signingKeyFromEnv } from '../../publish/signing-key';
import { createRegistry } from '../../registry/create-registry';
import { DEFAULT_MULTIPART_THRESHOLD } from '../../registry/registry';
import { runtimeCacheDir } from '../../runtime/cache';
import type { PreparedRuntime } from '../../runtime/prepare';
import type { Command } from '../command';
import { formatBytes } from '../io';
import { createProgress } from '../progress';
import { runtimeJson, runtimeLines } from '../runtime-output';

export const command: Command = {
  usage: 'ferry publish [--version V] [--artifact PATH] [--no-cache] [--multipart-threshold SIZE]',
  help: `Signs a release and uploads it to the registry: the packed Node runtime (app.runtime), the artifact,
its source map, manifest.json.sig, then manifest.json (a version exists once its manifest does), then
index.json. Builds first unless --artifact is given; an unchanged tree reuses the cached ncc bundle. A
runtime already in the registry (an earlier release on the same Node) is not uploaded again. The signed
manifest pins the runtime's version, size and sha256, and the source map's size and sha256.
Versions are immutable: publishing an existing version fails, unless the bytes are identical (then it
is a no-op and exits 0). The files are scanned for credentials before anything is uploaded.

The private key comes from ${SIGNING_ENV.pem} (PEM) or ${SIGNING_ENV.file} (path), else from
${PROJECT_KEY_FILE} next to releases.yaml (what \`ferry init\` creates), and must match signing.publicKey. The OSS registry reads OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET, OSS_SECURITY_TOKEN.

options:
      --version V               version to build (or that --artifact must hold)
      --artifact PATH           publish this .tar.br from \`ferry build\` instead of building (its
                                source map, <app>-<version>.js.map.gz, must be beside it); a
                                .tar.gz from an older ferry build publishes as .tar.gz
      --no-cache                run ncc even if the bundle cache holds this tree's bundle
      --multipart-threshold N   upload in parts above this size (default 8MiB; also
                                FERRY_MULTIPART_THRESHOLD); accepts bytes or 512KiB, 8MiB, ...

examples:
  FERRY_SIGNING_KEY_FILE=~/.config/ferry/signing.pem ferry publish
  ferry publish --artifact dist/ferry-storage-1.4.0.tar.br --json`,
  options: {
    version: { type: 'string' },
    artifact: { type: 'string' },
    'no-cache': { type: 'boolean' },
    'multipart-threshold': { type: 'string' },
  },
  async run(ctx) {
    const config = ctx.config();
    const { env, cwd } = ctx.io;
    const thresholdText =
      (ctx.flags['multipart-threshold'] as string | undefined) ?? env.FERRY_MULTIPART_THRESHOLD;
    const threshold = thresholdText === undefined ? DEFAULT_MULTIPART_THRESHOLD : parseSize(thresholdText);
    // Everything that can be wrong with the setup fails before a (slow) build.
    const pem = signingKeyFromEnv(env, cwd, resolve(config.root, PROJECT_KEY_FILE));
    checkSigningKey(pem, config.signing.publicKey, config.file);
    const registry = createRegistry(config.registry, env);

    let artifactPath = ctx.flags.artifact as string | undefined;
    // undefined: publish resolves app.runtime itself (with --artifact; free when build filled the cache).
    let runtime: PreparedRuntime | null | undefined;
    let sourceMapPath: string | undefined;
    if (artifactPath === undefined) {
      const built = await buildRelease({
        config,
        env,
        version: ctx.flags.version as string | undefined,
        onStep: (m) => ctx.out.print(ctx.style.dim(m)),
        noCache: ctx.flags['no-cache'] === true,
      });
      artifactPath = built.path;
      runtime = built.runtime;
      sourceMapPath = built.sourceMapPath ?? undefined;
      ctx.out.print(
        `${ctx.style.green('built')} ${relative(cwd, built.path) || built.path} (${formatBytes(built.size)})`,
      );
    } else artifactPath = resolve(cwd, artifactPath);

    const progress = createProgress(ctx.io, 'upload', !ctx.out.json || ctx.io.isTTY);
    let result: Awaited<ReturnType<typeof publishRelease>>;
    try {
      result = await publishRelease({
        config,
        registry,
        privateKeyPem: pem,
        artifactPath,
        sourceMapPath,
        version: ctx.flags.version as string | undefined,
        multipartThreshold: threshold,
        onProgress: (sent, total) => progress.update(sent, total),
        onStep: (m) => ctx.out.print(ctx.style.dim(m)),
        runtime,
        cacheDir: runtimeCacheDir(config.root, env),
      });
    } finally {
      progress.stop();
    }
    const verb = result.status === 'published' ? ctx.style.green('published') : ctx.style.yellow('unchanged');
    ctx.out.print(`${verb} ${config.app.name} ${result.version} to ${registry.description}`);
    if (result.status === 'unchanged')
      ctx.out.print('  (this exact release was already published; nothing uploaded)');
    ctx.out.print(`  artifact  ${result.keys.artifact}`);
    ctx.out.print(`  size      ${formatBytes(result.size)} (${result.size} bytes)`);
    ctx.out.print(`  sha256    ${result.sha256}`);
    if (result.runtime)
      for (const l of runtimeLines(result.runtime, result.runtime.uploads)) ctx.out.print(l);
    ctx.out.result({
      ok: true,
      status: result.status,
      name: config.app.name,
      version: result.version,
      registry: registry.description,
      keys: result.keys,
      size: result.size,
      sha256: result.sha256,
      commit: result.manifest.commit,
      runtime: runtimeJson(result.runtime, result.runtime?.uploads),
    });
    return ExitCode.Ok;
  },
};

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
};

export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined || Number(m[1]) <= 0) {
    throw new UsageError(`"${text}" is not a size`, {
      remedy: 'use bytes or a unit, e.g. 262144, 256KiB, 8MiB',
    });
  }
  return Math.floor(Number(m[1]) * unit);
}
