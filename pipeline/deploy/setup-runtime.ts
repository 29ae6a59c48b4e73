// `ferry setup` on a host with no Node: the runtime comes from the registry, as releases do. The CLI picks
// the release whose runtime the agent will run on (the environment's current one, else the newest),
// checks that manifest's signature with the key it trusts, and hands each host the runtime's sha256 and a
// short-lived presigned internal URL. The host checks that it can run that Node BEFORE anything changes.

import {
  BOOTSTRAP_EXIT,
  hostFits,
  installRuntimeArgv,
  linkHostNodeArgv,
  parseHostProbe,
  probeHostArgv,
} from '../commands/bootstrap';
import { FerryError } from '../errors';
import { readEnvRecord } from '../registry/env-record';
import { readIndex } from '../registry/release-index';
import { releaseKeys } from '../release/layout';
import { parseManifest, type RuntimeArtifact, type RuntimePin } from '../release/manifest';
import { verifyBytes } from '../release/signing';
import type { FleetContext } from './context';
import type { HostHandle } from './session';

export interface SetupRuntime {
  /** The release whose signed manifest pins the runtime; null when nothing is published yet. */
  release: string | null;
  /** null: the release pins no runtime (published without app.runtime); hosts use their own node. */
  pin: RuntimePin | null;
}

export async function resolveSetupRuntime(ctx: FleetContext, requested?: string): Promise<SetupRuntime> {
  const { config, envCfg } = ctx;
  const { prefix } = config.registry;
  const app = config.app.name;
  const record = requested ? null : await readEnvRecord(ctx.registry, prefix, app, envCfg.name);
  const newest =
    requested ?? record?.version ?? (await readIndex(ctx.registry, prefix, app)).versions[0]?.version;
  // Nothing published yet: the host's own node for now; setup after the first publish ships the runtime.
  if (!newest) return { release: null, pin: null };
  const release = newest;
  const keys = releaseKeys(prefix, app, release);
  const [manifestBytes, signature] = await Promise.all([
    ctx.registry.get(keys.manifest),
    ctx.registry.get(keys.signature),
  ]);
  if (!manifestBytes) {
    throw new FerryError(`${app} ${release} is not published in ${ctx.registry.description}`, {
      remedy: 'run ferry publish first: hosts get their Node runtime from a published release',
    });
  }
  const publicKey = config.signing.publicKey as string;
  const verdict = verifyBytes(manifestBytes, signature, publicKey);
  if (!verdict.ok) {
    throw new FerryError(`the manifest of ${release} does not verify: ${verdict.reason}`, {
      remedy: 'publish again with the signing key whose public half is in releases.yaml',
      exitCode: 5,
    });
  }
  const manifest = parseManifest(manifestBytes);
  return { release, pin: manifest.runtime ?? null };
}

/**
 * Read-only: uname, the C library and the tools the bootstrap needs. Throws, naming what was found and
 * what is needed, when the host cannot run the pinned Node; nothing on the host has changed then.
 */
export async function checkHostFits(h: HostHandle, rt: SetupRuntime): Promise<HostFit> {
  if (rt.pin === null) return null;
  const r = await h.t.exec(probeHostArgv(), { timeoutMs: 30_000 });
  if (r.code !== 0) throw new FerryError(`probing the host failed (exit ${r.code}): ${r.stderr.trim()}`);
  const fit = hostFits(parseHostProbe(r.stdout), rt.pin);
  if (!fit.ok) {
    throw new FerryError(
      `this host cannot run Node ${rt.pin.version} (from ${rt.release}); nothing was changed: ${fit.problems.join('; ')}`,
    );
  }
  return { arch: fit.arch, artifact: fit.artifact };
}

/** The build this host gets; null when the release pins no runtime. */
export type HostFit = { arch: 'x64' | 'arm64'; artifact: RuntimeArtifact } | null;

const BOOTSTRAP_FAILURES: Record<number, string> = {
  [BOOTSTRAP_EXIT.download]: 'the download failed',
  [BOOTSTRAP_EXIT.size]: 'the download has the wrong size',
  [BOOTSTRAP_EXIT.sha256]: 'the download does not match the signed sha256',
  [BOOTSTRAP_EXIT.unsafe]: 'the archive has unsafe paths',
  [BOOTSTRAP_EXIT.run]: 'the runtime does not start on this host',
  [BOOTSTRAP_EXIT.noNode]: 'the release pins no Node runtime and the host has no node',
};

/**
 * Installs the runtime (or finds it installed) and points .ferry/runtime at it; for a release without a
 * runtime, links the host's own node there instead.
 */
export async function bootstrapRuntime(
  ctx: FleetContext,
  h: HostHandle,
  rt: SetupRuntime,
  fit: HostFit,
): Promise<'installed' | 'present' | 'host node'> {
  if (rt.pin === null || fit === null) {
    const r = await h.t.exec(linkHostNodeArgv(h.host.path), { timeoutMs: 30_000 });
    if (r.code !== 0) {
      throw new FerryError(
        `${BOOTSTRAP_FAILURES[r.code] ?? `linking the host's node failed (exit ${r.code})`}: ${r.stderr.trim()}`,
        {
          remedy: 'add app.runtime to releases.yaml and publish again, so hosts need no Node of their own',
        },
      );
    }
    return /runtime=present/.test(r.stdout) ? 'present' : 'host node';
  }
  // Short-lived and for the internal endpoint, as the release URLs are; it goes over stdin.
  const url = await ctx.registry.presign(fit.artifact.key, { expiresSeconds: 900, endpoint: 'internal' });
  const r = await h.t.exec(
    installRuntimeArgv({
      root: h.host.path,
      version: rt.pin.version,
      arch: fit.arch,
      sha256: fit.artifact.sha256,
      size: fit.artifact.size,
    }),
    { stdin: `${url}\n`, timeoutMs: 15 * 60_000 },
  );
  if (r.code !== 0) {
    const why = BOOTSTRAP_FAILURES[r.code] ?? `exit ${r.code}`;
    throw new FerryError(
      `installing Node ${rt.pin.version} failed: ${why}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
  return /runtime=present/.test(r.stdout) ? 'present' : 'installed';
}
