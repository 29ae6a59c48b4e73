// `agent deploy`: fetch, verify, unpack, link, switch, reload, health-gate, prune, under the host lock.
// Trust order matters: the small signed manifest is verified before the artifact is downloaded, and the
// artifact's sha256 (which the signature covers) before a single entry is unpacked.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { HookRun, HookSpec } from '../../hooks/spec';
import { type ArtifactFormat, artifactExtension, artifactFormat } from '../../release/layout';
import { checkVersion, parseManifest, type ReleaseManifest } from '../../release/manifest';
import { verifyBytes } from '../../release/signing';
import type { AgentContext } from '../context';
import { AgentError, diskFullError, isDiskFull } from '../errors';
import { randomSuffix } from '../host/fsutil';
import { clearJournal, crashIfAt, enterStep, type Journal } from '../host/journal';
import { acquireLock } from '../host/lock';
import { recoverLeftover } from '../host/recover';
import { appendHistory, readState, updateState } from '../host/state';
import { failed, type OpOutcome } from '../outcome';
import { redactUrl } from '../output';
import { type EnsuredRuntime, ensureRuntime, type RuntimeSource } from '../runtime/install';
import { loadServiceConfig, type ServiceConfig } from '../service/config';
import { readSupervisorState } from '../service/supervisor-state';
import { activate } from './activate';
import { downloadToFile, fetchSmall } from './download';
import { runAfterSwitch, runPhase } from './hooks';
import { pruneReleases } from './prune';
import {
  checkInstalled,
  installRelease,
  linkShared,
  makeReadOnly,
  verifyTree,
  writeMarker,
} from './releases';
import { currentVersion } from './switch';
import { unpackArtifact } from './unpack';

export interface DeployOptions {
  version: string;
  manifestUrl: string;
  signatureUrl: string;
  /**
   * The artifact's URL, or a function making it from the signed manifest's artifact.file (pull mode, where
   * the agent presigns its own URLs and the name is .tar.br or, for an older release, .tar.gz).
   */
  artifactUrl: string | ((file: string) => Promise<string>);
  /** Where the pinned runtime can be fetched if this host lacks it (install/../runtime/install.ts). */
  runtime?: RuntimeSource;
  healthTimeoutSec?: number;
  allowBad?: boolean;
  keep?: number;
  /** beforeSwitch/afterSwitch commands, in order (install/hooks.ts). */
  hooks?: HookSpec[];
}

export async function readTrustedKey(path: string): Promise<string> {
  try {
    const line = (await readFile(path, 'utf8')).split('\n').find((l) => l.trim().length > 0);
    if (line) return line.trim();
  } catch {
    // reported below
  }
  throw new AgentError('config', `${path} is missing or empty: this host trusts no signing key`, {
    remedy: 'run `ferry setup`, which installs the registry public key',
  });
}

/** Step 1: the signed manifest, checked against the trusted key, the requested version and this app. */
async function fetchVerifiedManifest(
  ctx: AgentContext,
  config: ServiceConfig,
  o: DeployOptions,
): Promise<ReleaseManifest> {
  const trusted = await readTrustedKey(ctx.paths.trustedKey);
  const fail = (code: 'bad_signature' | 'download_failed', message: string, remedy?: string) =>
    new AgentError(code, message, { step: 'verify', ...(remedy ? { remedy } : {}) });
  let manifestBytes: Buffer;
  let sig: Buffer | null;
  try {
    const onRetry = (r: object) => ctx.report.event('retry', { step: 'verify', ...r });
    manifestBytes = (await fetchSmall(o.manifestUrl, { maxBytes: 4 * 1024 * 1024, onRetry })) as Buffer;
    sig = await fetchSmall(o.signatureUrl, { maxBytes: 64 * 1024, allowMissing: true, onRetry });
  } catch (err) {
    throw fail('download_failed', `could not fetch the release manifest: ${(err as Error).message}`);
  }
  const verdict = verifyBytes(manifestBytes, sig, trusted);
  if (!verdict.ok) {
    throw fail(
      'bad_signature',
      `release ${o.version} refused: ${verdict.reason}`,
      'republish the release with the key this host trusts, or fix trusted.pub via `ferry setup`',
    );
  }
  let manifest: ReleaseManifest;
  try {
    manifest = parseManifest(manifestBytes);
  } catch (err) {
    throw new AgentError('manifest_invalid', `signed manifest is invalid: ${(err as Error).message}`, {
      step: 'verify',
    });
  }
  if (manifest.version !== o.version) {
    // A validly signed manifest of another release: replaying an old release under a new name.
    throw new AgentError(
      'version_mismatch',
      `the signed manifest is for ${manifest.version}, not ${o.version}`,
      {
        step: 'verify',
        remedy: 'the registry serves another release under this version; check what was published',
      },
    );
  }
  if (manifest.name !== config.app) {
    throw new AgentError(
      'name_mismatch',
      `the release is for app "${manifest.name}", this host runs "${config.app}"`,
      {
        step: 'verify',
      },
    );
  }
  if (!manifest.artifact) {
    throw new AgentError('manifest_invalid', 'the published manifest has no artifact section', {
      step: 'verify',
    });
  }
  if (artifactFormat(manifest.artifact.file) === null) {
    throw new AgentError(
      'manifest_invalid',
      `the signed manifest names the artifact ${manifest.artifact.file}: this agent unpacks .tar.br and .tar.gz only`,
      {
        step: 'verify',
        remedy: 'publish the release with `ferry publish`, which names it <app>-<version>.tar.br',
      },
    );
  }
  return manifest;
}

/** Steps 2-3: artifact to tmp/, hashed while streaming, then unpacked and verified into releases/<v>. */
async function fetchAndInstall(
  ctx: AgentContext,
  config: ServiceConfig,
  o: DeployOptions,
  m: ReleaseManifest,
  j: Omit<Journal, 'step' | 'pid'>,
  runtime: EnsuredRuntime | null,
) {
  const { paths, report, env } = ctx;
  const artifact = m.artifact as NonNullable<ReleaseManifest['artifact']>;
  // Checked in fetchVerifiedManifest: the signed name decides the decompressor, never the bytes.
  const format = artifactFormat(artifact.file) as ArtifactFormat;
  await mkdir(paths.tmp, { recursive: true });
  const suffix = `${o.version}-${randomSuffix()}`;
  const download = join(paths.tmp, `download-${suffix}${artifactExtension(format)}`);
  const staging = join(paths.tmp, `unpack-${suffix}`);
  try {
    await enterStep(paths, env, j, 'download');
    const url = typeof o.artifactUrl === 'string' ? o.artifactUrl : await o.artifactUrl(artifact.file);
    report.step('download', { version: o.version, url: redactUrl(url), size: artifact.size });
    let got: { size: number; sha256: string };
    try {
      got = await downloadToFile(url, download, {
        maxBytes: artifact.size,
        onRetry: (r) => report.event('retry', { step: 'download', ...r }),
        onWritten: (n) => n * 2 >= artifact.size && crashIfAt('mid-download', env),
      });
    } catch (err) {
      if (isDiskFull(err)) throw diskFullError(err, 'download', paths.root);
      throw new AgentError('download_failed', `could not download the artifact: ${(err as Error).message}`, {
        step: 'download',
      });
    }
    if (got.size !== artifact.size || got.sha256 !== artifact.sha256) {
      throw new AgentError(
        'artifact_mismatch',
        `the artifact does not match the signed manifest (got ${got.size} bytes, sha256 ${got.sha256.slice(0, 12)}…; expected ${artifact.size} bytes, ${artifact.sha256.slice(0, 12)}…)`,
        {
          step: 'download',
          remedy: 'the artifact was corrupted or tampered with in the registry; republish it',
        },
      );
    }
    await enterStep(paths, env, j, 'unpack');
    report.step('unpack', { version: o.version });
    const cap = Math.min(config.maxUnpackedBytes, Math.max(20 * artifact.size, 64 * 1024 * 1024));
    const failAfter = env.FERRY_AGENT_FAIL_WRITE_AFTER_BYTES
      ? Number(env.FERRY_AGENT_FAIL_WRITE_AFTER_BYTES)
      : NaN;
    const unpacked = await unpackArtifact(download, staging, {
      format,
      maxBytes: cap,
      onFileWritten: (n) => n * 2 >= m.files.length && crashIfAt('mid-unpack', env),
      ...(Number.isSafeInteger(failAfter) && failAfter >= 0 ? { failWriteAfterBytes: failAfter } : {}),
    }).catch((err: unknown) => {
      throw isDiskFull(err) ? diskFullError(err, 'unpack', paths.root) : err;
    });
    const problem = await verifyTree(staging, m, unpacked.digests);
    if (problem) {
      throw new AgentError(
        'release_mismatch',
        `the unpacked release does not match its manifest: ${problem}`,
        { step: 'unpack' },
      );
    }
    await makeReadOnly(staging);
    await writeMarker(staging, {
      version: o.version,
      installedAt: new Date().toISOString(),
      artifactSha256: artifact.sha256,
      ...(runtime ? { runtime: runtime.ref } : {}),
    });
    await installRelease(paths, staging, o.version);
  } finally {
    await rm(download, { force: true });
    await rm(staging, { recursive: true, force: true });
  }
}

export async function deploy(ctx: AgentContext, o: DeployOptions): Promise<OpOutcome> {
  const { paths, report, env } = ctx;
  const started = Date.now();
  const versionProblem = checkVersion(o.version);
  if (versionProblem) throw new AgentError('usage', versionProblem);
  const config = await loadServiceConfig(paths.serviceConfig);
  const healthTimeoutSec = o.healthTimeoutSec ?? config.healthTimeoutSec;
  const lock = await acquireLock(paths, {
    who: ctx.who,
    op: 'deploy',
    version: o.version,
    ttlSec: config.lockTtlSec,
  });
  let from: string | null = null;
  let step = 'verify';
  try {
    await recoverLeftover(ctx, config);
    const state = await readState(paths);
    from = await currentVersion(paths);
    if (state.bad.includes(o.version) && !o.allowBad) {
      throw new AgentError(
        'bad_release',
        `${o.version} is marked bad on this host (it failed before or was rolled back)`,
        {
          step: 'verify',
          remedy: 'deploy a fixed version, or pass --allow-bad to try this one again',
        },
      );
    }
    const j = { op: 'deploy' as const, version: o.version, from, startedAt: new Date(started).toISOString() };
    await enterStep(paths, env, j, 'verify');
    report.step('verify', { version: o.version, manifest: redactUrl(o.manifestUrl) });
    const manifest = await fetchVerifiedManifest(ctx, config, o);
    await lock.refresh();

    // The runtime first: a host that cannot run the pinned Node is refused before the release is fetched.
    let runtime: EnsuredRuntime | null = null;
    if (manifest.runtime) {
      step = 'runtime';
      await enterStep(paths, env, j, 'runtime');
      runtime = await ensureRuntime(ctx, manifest.runtime, o.version, o.runtime);
      await lock.refresh();
    }

    const reusable = (await checkInstalled(paths, o.version, manifest)) === null;
    if (reusable) report.step('download', { version: o.version, reused: true });
    else {
      step = 'download';
      await fetchAndInstall(ctx, config, o, manifest, j, runtime);
    }
    await lock.refresh();

    step = 'link';
    await enterStep(paths, env, j, 'link');
    report.step('link', { version: o.version });
    await linkShared(paths, o.version);

    // A failing beforeSwitch hook throws here: `current` has not moved, and the release is not marked
    // bad (a migration that cannot reach its database says nothing about the release's code).
    step = 'before-switch';
    const hooks = o.hooks ?? [];
    const hookRuns: HookRun[] = await runPhase(ctx, config, 'beforeSwitch', hooks, { journal: j, lock });

    step = 'switch';
    const { healthMs } = await activate(ctx, config, j, healthTimeoutSec);

    step = 'prune';
    const committed = await updateState(paths, (s) => {
      if (from && from !== o.version) s.previous = from;
      s.lastGood = o.version;
      s.bad = s.bad.filter((v) => v !== o.version);
    });
    // The release passed its gate and is committed: an afterSwitch failure is reported, never undone.
    hookRuns.push(...(await runAfterSwitch(ctx, config, hooks, { journal: j, lock })));
    await enterStep(paths, env, j, 'prune');
    const keep = o.keep ?? config.keepReleases;
    report.step('prune', { keep });
    const sup = await readSupervisorState(paths);
    const pruned = await pruneReleases(paths, {
      keep,
      state: committed,
      current: o.version,
      serving: sup?.version ?? null,
      servingNode: sup?.runtime?.path ?? null,
      supervisorNode: sup?.supervisorNode?.path ?? null,
      debrisAgeSec: config.lockTtlSec,
    });
    await clearJournal(paths);
    const durationMs = Date.now() - started;
    await appendHistory(paths, {
      who: ctx.who,
      op: 'deploy',
      version: o.version,
      from,
      result: 'ok',
      error: null,
      durationMs,
    });
    return {
      ok: true,
      fields: {
        version: o.version,
        previous: from,
        reused: reusable,
        healthMs,
        ...(runtime
          ? { runtime: { node: runtime.ref.version, arch: runtime.ref.arch, reused: runtime.reused } }
          : {}),
        ...(hookRuns.length > 0 ? { hooks: hookRuns } : {}),
        pruned: pruned.removed,
        ...(pruned.runtimesRemoved.length > 0 ? { runtimesPruned: pruned.runtimesRemoved } : {}),
        durationMs,
      },
    };
  } catch (err) {
    return await failed(ctx, 'deploy', o.version, from, started, step, err);
  } finally {
    await lock.release();
  }
}
