// Where Node runtimes live on a host: <root>/runtimes/<version>-<arch>/ (bin/node and licences), shared by
// every release that pins that build. A runtime directory counts only once its marker is written, last,
// after the bytes were checked against the signed manifest; the marker names the exact build (sha256).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeArch } from '../../release/manifest';
import { isErrno, readJson } from '../host/fsutil';
import type { HostPaths } from '../host/paths';

export const RUNTIME_MARKER = '.ferry-runtime.json';

/** What a release needs: a runtime build, named by version and arch, identified by its archive's sha256. */
export interface RuntimeRef {
  version: string;
  arch: RuntimeArch;
  sha256: string;
}

export interface RuntimeMarker extends RuntimeRef {
  name: 'node';
  installedAt: string;
}

export interface InstalledRuntime {
  dir: string;
  marker: RuntimeMarker;
}

/**
 * The directory a build goes to: `<version>-<arch>`, or, when another build of the same version already
 * holds that name (a mirror's binary after the npm package's, say), `<version>-<arch>-<sha prefix>`.
 */
export function runtimeDirNames(ref: RuntimeRef): [string, string] {
  const base = `${ref.version}-${ref.arch}`;
  return [base, `${base}-${ref.sha256.slice(0, 12)}`];
}

export function runtimeNodePath(dir: string): string {
  return join(dir, 'bin', 'node');
}

export async function readRuntimeMarker(dir: string): Promise<RuntimeMarker | null> {
  try {
    const m = await readJson<RuntimeMarker>(join(dir, RUNTIME_MARKER));
    return m && typeof m.sha256 === 'string' && typeof m.version === 'string' ? m : null;
  } catch {
    return null;
  }
}

/** The installed runtime of exactly this build, or null. */
export async function findRuntime(paths: HostPaths, ref: RuntimeRef): Promise<InstalledRuntime | null> {
  for (const name of runtimeDirNames(ref)) {
    const dir = join(paths.runtimes, name);
    const marker = await readRuntimeMarker(dir);
    if (marker && marker.sha256 === ref.sha256 && marker.arch === ref.arch) return { dir, marker };
  }
  return null;
}

/** Every complete runtime on the host. */
export async function listRuntimes(paths: HostPaths): Promise<InstalledRuntime[]> {
  let names: string[];
  try {
    names = await readdir(paths.runtimes);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const out: InstalledRuntime[] = [];
  for (const name of names.sort()) {
    const dir = join(paths.runtimes, name);
    const marker = await readRuntimeMarker(dir);
    if (marker) out.push({ dir, marker });
  }
  return out;
}
