// Installs a pinned Node runtime: downloaded to tmp/, its size and sha256 checked against the signed
// manifest BEFORE a byte is unpacked, unpacked with the release unpacker (same refusals, same caps),
// proven to start and report the pinned version, then renamed into runtimes/ with its marker written
// last. Runtimes are shared: a release on a runtime already here downloads nothing.
import { execFile } from 'node:child_process';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RuntimePin } from '../../release/manifest';
import type { AgentContext } from '../context';
import { AgentError, diskFullError, isDiskFull } from '../errors';
import { fsyncDir, isErrno, randomSuffix, writeJsonAtomic } from '../host/fsutil';
import { downloadToFile } from '../install/download';
import { unpackArtifact } from '../install/unpack';
import { redactUrl } from '../output';
import { hostPlatform, runtimeForHost } from './host';
import {
  findRuntime,
  type InstalledRuntime,
  RUNTIME_MARKER,
  type RuntimeMarker,
  type RuntimeRef,
  readRuntimeMarker,
  runtimeDirNames,
  runtimeNodePath,
} from './layout';

/** Where each pinned build can be fetched: a URL per arch (the CLI presigns), or a resolver (pull mode). */
export type RuntimeSource = Partial<Record<string, string>> | ((key: string) => Promise<string>);

/** A runtime unpacks to ~120 MB; a bigger archive is not a Node build. */
const MAX_UNPACKED = 512 * 1024 * 1024;

export interface EnsuredRuntime extends InstalledRuntime {
  ref: RuntimeRef;
  reused: boolean;
}

export async function ensureRuntime(
  ctx: AgentContext,
  pin: RuntimePin,
  release: string,
  source: RuntimeSource | undefined,
): Promise<EnsuredRuntime> {
  const { paths, report } = ctx;
  const art = runtimeForHost(pin, hostPlatform(), release);
  const ref: RuntimeRef = { version: pin.version, arch: art.arch, sha256: art.sha256 };
  const have = await findRuntime(paths, ref);
  if (have) {
    report.step('runtime', { node: pin.version, arch: art.arch, reused: true });
    return { ...have, ref, reused: true };
  }
  const url = typeof source === 'function' ? await source(art.key) : source?.[art.arch];
  if (!url) {
    throw new AgentError(
      'usage',
      `${release} runs on Node ${pin.version} (${art.arch}), which this host does not have, and no URL was given for it`,
      {
        step: 'runtime',
        remedy: 'deploy with a ferry CLI that ships runtimes (it passes --runtime-url)',
      },
    );
  }
  report.step('runtime', { node: pin.version, arch: art.arch, url: redactUrl(url), size: art.size });
  await mkdir(paths.tmp, { recursive: true });
  const suffix = `${pin.version}-${art.arch}-${randomSuffix()}`;
  const download = join(paths.tmp, `runtime-${suffix}.tar.gz`);
  const staging = join(paths.tmp, `runtime-unpack-${suffix}`);
  try {
    let got: { size: number; sha256: string };
    try {
      got = await downloadToFile(url, download, {
        maxBytes: art.size,
        onRetry: (r) => report.event('retry', { step: 'runtime', ...r }),
      });
    } catch (err) {
      if (isDiskFull(err)) throw diskFullError(err, 'download', paths.root);
      throw new AgentError(
        'download_failed',
        `could not download Node ${pin.version}: ${(err as Error).message}`,
        {
          step: 'runtime',
        },
      );
    }
    if (got.size !== art.size || got.sha256 !== art.sha256) {
      throw new AgentError(
        'artifact_mismatch',
        `the Node ${pin.version} runtime does not match the signed manifest (got ${got.size} bytes, sha256 ${got.sha256.slice(0, 12)}…; expected ${art.size} bytes, ${art.sha256.slice(0, 12)}…)`,
        {
          step: 'runtime',
          remedy: 'the runtime object was corrupted or replaced in the registry; publish again',
        },
      );
    }
    // Runtimes stay gzip whatever the release is: the bare-host bootstrap unpacks them with tar -xzf.
    await unpackArtifact(download, staging, {
      format: 'gzip',
      maxBytes: MAX_UNPACKED,
      maxEntries: 100,
    }).catch((err: unknown) => {
      throw isDiskFull(err) ? diskFullError(err, 'unpack', paths.root) : err;
    });
    await chmod(runtimeNodePath(staging), 0o555).catch((err: unknown) => {
      throw new AgentError(
        'release_mismatch',
        `the Node ${pin.version} runtime has no bin/node (${(err as Error).message})`,
        {
          step: 'runtime',
        },
      );
    });
    await proveRuns(runtimeNodePath(staging), pin.version);
    const marker: RuntimeMarker = { name: 'node', ...ref, installedAt: new Date().toISOString() };
    await writeJsonAtomic(join(staging, RUNTIME_MARKER), marker);
    const dir = await placeRuntime(ctx, staging, ref);
    return { dir, marker, ref, reused: false };
  } finally {
    await rm(download, { force: true });
    await rm(staging, { recursive: true, force: true });
  }
}

/** The binary starts on this host and is the version pinned: a missing library shows up here, not at reload. */
async function proveRuns(node: string, version: string): Promise<void> {
  let out: string;
  try {
    out = (await promisify(execFile)(node, ['--version'], { timeout: 30_000 })).stdout.trim();
  } catch (err) {
    throw new AgentError(
      'runtime_unsupported',
      `Node ${version} does not start on this host: ${(err as Error).message.split('\n')[0]}`,
      {
        step: 'runtime',
        remedy: 'check the host prerequisites in docs/deploy.md (glibc, architecture)',
      },
    );
  }
  if (out !== `v${version}`) {
    throw new AgentError('release_mismatch', `the runtime pinned as Node ${version} reports ${out}`, {
      step: 'runtime',
    });
  }
}

/** Renames the checked tree to runtimes/<version>-<arch>, or to the sha-suffixed name when another build holds that. */
async function placeRuntime(ctx: AgentContext, staging: string, ref: RuntimeRef): Promise<string> {
  const { paths } = ctx;
  await mkdir(paths.runtimes, { recursive: true });
  for (const name of runtimeDirNames(ref)) {
    const dest = join(paths.runtimes, name);
    const existing = await readRuntimeMarker(dest);
    if (existing?.sha256 === ref.sha256) return dest;
    if (existing) continue;
    // No marker: debris of an interrupted install (the marker is written before the rename, so a
    // complete runtime always has one). Move it aside first; rename cannot replace a directory.
    await rm(dest, { recursive: true, force: true });
    try {
      await rename(staging, dest);
    } catch (err) {
      if (isErrno(err, 'ENOTEMPTY', 'EEXIST')) continue;
      throw err;
    }
    await fsyncDir(paths.runtimes);
    return dest;
  }
  throw new AgentError(
    'internal',
    `no free directory for Node ${ref.version} (${ref.arch}) under ${paths.runtimes}`,
    {
      step: 'runtime',
    },
  );
}
