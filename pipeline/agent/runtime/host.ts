// What this host can run: its CPU architecture and C library, read before anything is downloaded so a
// runtime that cannot run here is refused with one clear message and nothing changed.
import type { RuntimeArch, RuntimeArtifact, RuntimePin } from '../../release/manifest';
import { AgentError } from '../errors';

export interface HostPlatform {
  arch: RuntimeArch | null;
  /** What process.arch said, for the message when it is not supported. */
  rawArch: string;
  /** glibc version, e.g. "2.36"; null on musl or where unknown. */
  glibc: string | null;
}

export function hostPlatform(): HostPlatform {
  const rawArch = process.arch;
  const arch = rawArch === 'x64' || rawArch === 'arm64' ? rawArch : null;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)
    ?.header;
  return { arch, rawArch, glibc: header?.glibcVersionRuntime ?? null };
}

/** "2.28" <= "2.36": compared as numbers, part by part. */
export function glibcAtLeast(have: string, need: string): boolean {
  const a = have.split('.').map(Number);
  const b = need.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** The pinned build for this host, or an error naming what the host is and what the release needs. */
export function runtimeForHost(
  pin: RuntimePin,
  host: HostPlatform,
  release: string,
): RuntimeArtifact & { arch: RuntimeArch } {
  const shipped = Object.keys(pin.artifacts).join(', ');
  if (host.arch === null) {
    throw new AgentError(
      'runtime_unsupported',
      `this host is ${host.rawArch}; ${release} ships Node ${pin.version} for ${shipped} only`,
      { step: 'runtime', remedy: 'Ferry ships Linux x64 and arm64 runtimes; use a host of one of those' },
    );
  }
  const art = pin.artifacts[host.arch];
  if (!art) {
    throw new AgentError(
      'runtime_unsupported',
      `this host is ${host.arch}; ${release} ships Node ${pin.version} for ${shipped} only`,
      { step: 'runtime', remedy: `add ${host.arch} to app.runtime.arch in releases.yaml and publish again` },
    );
  }
  if (art.glibc !== null) {
    if (host.glibc === null) {
      throw new AgentError(
        'runtime_unsupported',
        `Node ${pin.version} needs glibc ${art.glibc} or newer; this host has no glibc (musl, e.g. Alpine)`,
        { step: 'runtime', remedy: 'use a glibc distribution (docs/deploy.md, "Host prerequisites")' },
      );
    }
    if (!glibcAtLeast(host.glibc, art.glibc)) {
      throw new AgentError(
        'runtime_unsupported',
        `Node ${pin.version} needs glibc ${art.glibc} or newer; this host has glibc ${host.glibc}`,
        {
          step: 'runtime',
          remedy: 'pin an older Node in app.runtime.node, or upgrade the host image (docs/deploy.md)',
        },
      );
    }
  }
  return { ...art, arch: host.arch };
}
