// How build and publish show the runtime a release pins: the same lines and JSON in both, so what build
// reports is visibly what publish uploads.
import type { RuntimeUpload } from '../publish/runtime-upload';
import type { RuntimeArch } from '../release/manifest';
import type { PreparedRuntime } from '../runtime/prepare';
import { formatBytes } from './io';

export function runtimeLines(r: PreparedRuntime, uploads?: readonly RuntimeUpload[]): string[] {
  const resolved = r.requested === r.pin.version ? '' : ` (resolved from ${r.requested})`;
  const lines = [`  runtime  node ${r.pin.version}${resolved}, from ${r.source}`];
  for (const [arch, a] of Object.entries(r.pin.artifacts)) {
    if (!a) continue;
    const up = uploads?.find((u) => u.arch === arch);
    const status = up ? (up.status === 'uploaded' ? ', uploaded' : ', already in the registry') : '';
    lines.push(
      `    ${arch.padEnd(5)}  ${formatBytes(a.size)}  sha256 ${a.sha256.slice(0, 12)}  glibc >= ${a.glibc ?? '?'}${status}`,
    );
  }
  return lines;
}

export function runtimeJson(r: PreparedRuntime | null, uploads?: readonly RuntimeUpload[]): unknown {
  if (r === null) return null;
  const artifacts: Record<string, unknown> = {};
  for (const [arch, a] of Object.entries(r.pin.artifacts)) {
    if (!a) continue;
    const up = uploads?.find((u) => u.arch === arch);
    artifacts[arch] = {
      ...a,
      path: r.files[arch as RuntimeArch],
      ...(up ? { status: up.status } : {}),
    };
  }
  return { name: r.pin.name, version: r.pin.version, requested: r.requested, source: r.source, artifacts };
}
