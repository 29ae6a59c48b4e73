// releases/<version>/: complete, verified, read-only trees. A release is complete when its marker file
// exists; the marker is written in staging before the one rename that makes the release appear, so a
// directory without it is debris from an interrupted install.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { checkVersion, MANIFEST_FILE, parseManifest, type ReleaseManifest } from '../../release/manifest';
import { AgentError } from '../errors';
import { fsyncDir, isErrno, randomSuffix, readJson, writeJsonAtomic } from '../host/fsutil';
import { type HostPaths, releaseDir } from '../host/paths';
import type { RuntimeRef } from '../runtime/layout';

export const RELEASE_MARKER = '.ferry-release.json';
/** Links into shared/ that step 4 adds to every release (not part of the manifest). */
export const SHARED_LINKS = ['.env', 'data'] as const;

export interface ReleaseMarker {
  version: string;
  installedAt: string;
  artifactSha256: string | null;
  /** The runtime build the signed manifest pins for this host's arch; absent: the agent's own runtime. */
  runtime?: RuntimeRef;
}

export interface InstalledRelease {
  version: string;
  installedAt: string;
  dir: string;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function walk(
  dir: string,
  prefix = '',
): Promise<{ path: string; kind: 'file' | 'dir' | 'link' | 'other' }[]> {
  const out: { path: string; kind: 'file' | 'dir' | 'link' | 'other' }[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${d.name}` : d.name;
    if (d.isDirectory()) {
      out.push({ path: rel, kind: 'dir' });
      out.push(...(await walk(join(dir, d.name), rel)));
    } else if (d.isFile()) out.push({ path: rel, kind: 'file' });
    else if (d.isSymbolicLink()) out.push({ path: rel, kind: 'link' });
    else out.push({ path: rel, kind: 'other' });
  }
  return out;
}

/**
 * Checks a tree against a manifest: every listed file with its size and sha256, the inner manifest.json
 * describing the same release, and nothing else (except the marker and the shared links). Returns the
 * first problem, or null.
 */
export async function verifyTree(
  dir: string,
  manifest: ReleaseManifest,
  /** Digests taken while unpacking into `dir` (only this agent writes there): skips reading files back. */
  known?: ReadonlyMap<string, { size: number; sha256: string }>,
): Promise<string | null> {
  const expected = new Map(manifest.files.map((f) => [f.path, f]));
  let entries: Awaited<ReturnType<typeof walk>>;
  try {
    entries = await walk(dir);
  } catch (err) {
    return `cannot read ${dir}: ${(err as Error).message}`;
  }
  for (const e of entries) {
    if (e.kind === 'dir') continue;
    if (e.path === MANIFEST_FILE || e.path === RELEASE_MARKER) continue;
    if (e.kind === 'link' && (SHARED_LINKS as readonly string[]).includes(e.path)) continue;
    const want = expected.get(e.path);
    if (!want) return `unexpected ${e.kind} ${e.path} (not in the manifest)`;
    if (e.kind !== 'file') return `${e.path} is a ${e.kind}, expected a regular file`;
  }
  for (const f of manifest.files) {
    const path = join(dir, f.path);
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(path);
    } catch {
      return `missing file ${f.path}`;
    }
    if (!st.isFile()) return `${f.path} is not a regular file`;
    if (st.size !== f.size) return `${f.path} has ${st.size} bytes, the manifest says ${f.size}`;
    const sha = known?.get(f.path)?.sha256 ?? (await sha256File(path));
    if (sha !== f.sha256) return `${f.path} does not match its sha256 in the manifest`;
  }
  let inner: ReleaseManifest;
  try {
    inner = parseManifest(await readFile(join(dir, MANIFEST_FILE)));
  } catch (err) {
    return `the release's own ${MANIFEST_FILE} is missing or invalid (${(err as Error).message})`;
  }
  if (inner.name !== manifest.name || inner.version !== manifest.version || inner.entry !== manifest.entry) {
    return `the release's own ${MANIFEST_FILE} describes ${inner.name}@${inner.version}, not ${manifest.name}@${manifest.version}`;
  }
  const key = (m: ReleaseManifest) =>
    JSON.stringify(
      [...m.files].sort((a, b) => (a.path < b.path ? -1 : 1)).map((f) => [f.path, f.size, f.sha256]),
    );
  if (key(inner) !== key(manifest)) return `the release's own ${MANIFEST_FILE} lists different files`;
  if (!expected.has(manifest.entry)) return `entry ${manifest.entry} is not among the release's files`;
  return null;
}

/** Files read-only (0444), directories left writable by the owner so prune can remove the tree. */
export async function makeReadOnly(dir: string): Promise<void> {
  for (const e of await walk(dir)) {
    if (e.kind === 'file') await chmod(join(dir, e.path), 0o444);
  }
}

export async function readMarker(dir: string): Promise<ReleaseMarker | null> {
  try {
    return (await readJson<ReleaseMarker>(join(dir, RELEASE_MARKER))) ?? null;
  } catch {
    return null;
  }
}

export async function writeMarker(dir: string, marker: ReleaseMarker): Promise<void> {
  await writeJsonAtomic(join(dir, RELEASE_MARKER), marker);
  await chmod(join(dir, RELEASE_MARKER), 0o444);
}

/** Complete releases, oldest install first. */
export async function listReleases(paths: HostPaths): Promise<InstalledRelease[]> {
  let names: string[];
  try {
    names = await readdir(paths.releases);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const out: InstalledRelease[] = [];
  for (const name of names) {
    if (checkVersion(name) !== null) continue;
    const dir = releaseDir(paths, name);
    const marker = await readMarker(dir);
    if (marker) out.push({ version: name, installedAt: marker.installedAt, dir });
  }
  return out.sort((a, b) => (a.installedAt < b.installedAt ? -1 : a.installedAt > b.installedAt ? 1 : 0));
}

export async function readReleaseManifest(paths: HostPaths, version: string): Promise<ReleaseManifest> {
  return parseManifest(await readFile(join(releaseDir(paths, version), MANIFEST_FILE)));
}

/**
 * A release already on disk that is safe to switch to: marker present and files matching `manifest`
 * (the signed one on deploy, the release's own on rollback). Returns the problem, or null.
 */
export async function checkInstalled(
  paths: HostPaths,
  version: string,
  manifest?: ReleaseManifest,
): Promise<string | null> {
  const dir = releaseDir(paths, version);
  if (!(await readMarker(dir))) return `releases/${version} is missing or was not completely installed`;
  let m = manifest;
  if (!m) {
    try {
      m = await readReleaseManifest(paths, version);
    } catch (err) {
      return `releases/${version}/${MANIFEST_FILE} is unreadable (${(err as Error).message})`;
    }
  }
  return verifyTree(dir, m);
}

/** Renames a verified staging tree to releases/<version>, moving any incomplete leftover aside first. */
export async function installRelease(paths: HostPaths, staging: string, version: string): Promise<void> {
  await mkdir(paths.releases, { recursive: true });
  const dest = releaseDir(paths, version);
  const aside = join(paths.tmp, `replaced-${version}-${randomSuffix()}`);
  let movedAside = false;
  try {
    await lstat(dest);
    await rename(dest, aside);
    movedAside = true;
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  await rename(staging, dest);
  await fsyncDir(paths.releases);
  if (movedAside) await rm(aside, { recursive: true, force: true });
}

/** Deletes a release tree: renamed into tmp/ first so it vanishes from releases/ in one step. */
export async function removeRelease(paths: HostPaths, version: string): Promise<void> {
  const trash = join(paths.tmp, `removed-${version}-${randomSuffix()}`);
  await mkdir(paths.tmp, { recursive: true });
  await rename(releaseDir(paths, version), trash);
  await rm(trash, { recursive: true, force: true });
}

/** Step 4: releases/<v>/.env and data point into shared/, so secrets and data outlive releases. */
export async function linkShared(paths: HostPaths, version: string): Promise<void> {
  const dir = releaseDir(paths, version);
  await mkdir(paths.sharedData, { recursive: true });
  const links: [string, string, boolean][] = [
    ['.env', '../../shared/.env', await exists(paths.sharedEnv)],
    ['data', '../../shared/data', true],
  ];
  for (const [name, target, wanted] of links) {
    const path = join(dir, name);
    let existing: string | null = null;
    try {
      existing = await readlink(path);
    } catch (err) {
      if (isErrno(err, 'EINVAL')) {
        throw new AgentError(
          'release_mismatch',
          `releases/${version}/${name} is a real file, where a link to shared/ goes`,
          {
            step: 'link',
            remedy: `the release must not contain ${name}; move it to shared/ instead`,
          },
        );
      }
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    if (!wanted || existing === target) continue;
    const tmp = `${path}.tmp-${randomSuffix()}`;
    await symlink(target, tmp);
    await rename(tmp, path);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
