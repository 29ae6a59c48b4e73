// `ferry deploy` across an environment: resolve the version, refuse hosts that cannot run it, then roll out
// in batches with the canary first (fleet-op.ts runs it: lock, agents, revert, record).

import { runtimeForHost } from '../agent/runtime/host';
import { FerryError } from '../errors';
import { readIndex } from '../registry/release-index';
import { artifactKey, artifactName, releaseKeys } from '../release/layout';
import {
  checkVersion,
  parseManifest,
  type ReleaseManifest,
  type RuntimeArch,
  type RuntimePin,
} from '../release/manifest';
import { runAgent } from './agent-client';
import { bakeBatch } from './bake';
import type { FleetContext } from './context';
import { type FleetRunResult, hostLine, progress, revertHost, runFleetOp } from './fleet-op';
import { hooksForBatch, hostHookLines, refuseAgentsWithoutHooks } from './hooks';
import { rollout } from './rollout';
import type { HostHandle, HostPlatformInfo } from './session';

export async function resolveVersion(ctx: FleetContext, requested: string | undefined): Promise<string> {
  const { prefix } = ctx.config.registry;
  const app = ctx.config.app.name;
  if (requested) {
    const bad = checkVersion(requested);
    if (bad) throw new FerryError(bad);
    if (!(await ctx.registry.head(releaseKeys(prefix, app, requested).manifest))) {
      throw new FerryError(`${app} ${requested} is not published in ${ctx.registry.description}`, {
        remedy: 'run ferry releases to see what is published, or ferry publish it first',
      });
    }
    return requested;
  }
  const newest = (await readIndex(ctx.registry, prefix, app)).versions[0];
  if (!newest) {
    throw new FerryError(`nothing of ${app} is published in ${ctx.registry.description}`, {
      remedy: 'run ferry publish first',
    });
  }
  return newest.version;
}

export async function deployEnv(
  ctx: FleetContext,
  opts: { version?: string; dryRun?: boolean; allowBad?: boolean },
): Promise<FleetRunResult> {
  const version = await resolveVersion(ctx, opts.version);
  return runFleetOp(ctx, 'deploy', version, opts.dryRun ?? false, async (hosts, platforms) => {
    const { prefix } = ctx.config.registry;
    const app = ctx.config.app.name;
    const keys = releaseKeys(prefix, app, version);
    const envCfg = ctx.envCfg;
    const published = await publishedManifest(ctx, keys.manifest);
    const runtime = published?.runtime ?? null;
    // The name the manifest gives (.tar.br, or .tar.gz for a release published before brotli). Without a
    // readable one the hosts refuse the release at verify, which is the verdict to report, so any URL does.
    const artifactObject = artifactKey(
      prefix,
      app,
      version,
      published?.artifact?.file ?? artifactName(app, version, 'brotli'),
    );
    if (runtime) refuseUnfitHosts(runtime, version, hosts, platforms);
    refuseAgentsWithoutHooks(ctx, hosts, platforms);
    // Presigned per batch, so a long rollout never hands a host an expired URL; hosts get the internal
    // endpoint and need no OSS credentials of their own.
    const ttl = envCfg.urlTtlSeconds;
    let urls = { manifest: '', signature: '', artifact: '' };
    let runtimeUrls: Partial<Record<RuntimeArch, string>> = {};
    return rollout(
      hosts,
      { batch: envCfg.batch, concurrency: envCfg.concurrency, canary: true },
      {
        beforeBatch: async () => {
          const sign = (key: string) =>
            ctx.registry.presign(key, { expiresSeconds: ttl, endpoint: 'internal' });
          const [manifest, signature, artifact] = await Promise.all([
            sign(keys.manifest),
            sign(keys.signature),
            sign(artifactObject),
          ]);
          urls = { manifest, signature, artifact };
          runtimeUrls = {};
          for (const [arch, art] of Object.entries(runtime?.artifacts ?? {})) {
            if (art) runtimeUrls[arch as RuntimeArch] = await sign(art.key);
          }
        },
        run: (h, n) =>
          runAgent(
            h.t,
            h.host.path,
            'deploy',
            {
              version,
              manifestUrl: urls.manifest,
              signatureUrl: urls.signature,
              artifactUrl: urls.artifact,
              runtimeUrls,
              healthTimeoutSec: envCfg.health.timeoutSeconds,
              keep: envCfg.keep,
              allowBad: opts.allowBad,
              hooks: hooksForBatch(ctx, n),
            },
            { who: ctx.who, onEvent: progress(ctx, h) },
          ),
        revert: (h, o, cause) => revertHost(ctx, h, o, version, cause),
        ...(envCfg.bakeSeconds > 0
          ? { bake: (_n: number, batch: HostHandle[]) => bakeBatch(ctx, batch, version, envCfg.bakeSeconds) }
          : {}),
        onHostDone: (o) => ctx.log([hostLine(o, version), ...(o.ok ? hostHookLines(o) : [])].join('\n')),
        onRevert: (o) =>
          ctx.log(`  ${o.host}  returned to ${o.from}: ${o.reverted?.ok ? 'ok' : o.reverted?.error}`),
      },
    );
  });
}

/**
 * The published manifest, unverified: the hosts check its signature; here it only routes URLs (the
 * artifact's name, the runtime it pins). Null when missing or unreadable.
 */
async function publishedManifest(ctx: FleetContext, manifestKey: string): Promise<ReleaseManifest | null> {
  const bytes = await ctx.registry.get(manifestKey);
  if (!bytes) return null;
  try {
    return parseManifest(bytes);
  } catch {
    return null;
  }
}

/**
 * Before any host is touched: every host can run the pinned Node (its arch is shipped, its glibc is new
 * enough). Otherwise the canary would pass and a later batch would fail half-way through the fleet.
 */
function refuseUnfitHosts(
  runtime: RuntimePin,
  version: string,
  hosts: HostHandle[],
  platforms: Map<string, HostPlatformInfo>,
): void {
  const problems: string[] = [];
  for (const h of hosts) {
    const p = platforms.get(h.host.name);
    if (!p) continue;
    const arch = p.arch === 'x64' || p.arch === 'arm64' ? p.arch : null;
    try {
      runtimeForHost(runtime, { arch, rawArch: p.arch, glibc: p.glibc }, version);
    } catch (err) {
      problems.push(`${h.host.name}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new FerryError(
      `${version} cannot run on every host; nothing was changed:\n  ${problems.join('\n  ')}`,
      {
        remedy: 'add the missing arch to app.runtime.arch (or pin an older Node) and publish again',
      },
    );
  }
}
