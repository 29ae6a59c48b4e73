// ncc is nearly all of a publish. Its output depends only on the toolchain, the lockfile and the project's
// files, and it is reproducible, so a bundle is cached under a hash of exactly those: re-publishing an
// unchanged tree (a CI retry, publish after build) skips ncc. Entries live in .ferry/cache/bundles/<key>/
// ($FERRY_CACHE_DIR moves it), each file re-hashed against the entry's list before use; a damaged entry is
// rebuilt, never used.
//
// What the key covers: a format tag, ncc's version, the Node major running it, ncc's flags, the entry and
// the folder ncc runs in, and the path and bytes of every file of the entry's project (the nearest folder
// above the entry with a lockfile, else with a package.json) except node_modules (stood for by the
// lockfile), dot-folders (.git, .ferry, ...) and a worktree's .git file, dist/ and the build's output
// folder. A package edited in place in node_modules without a lockfile change is not seen: build with
// --no-cache then. An entry in no project is never cached.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { type BundledFile, bundleApp, nccArgs } from './bundle';
import { sha256 } from './hash';

const FORMAT = 'ferry-bundle-cache-1';
const LIST = 'files.json';
/** Entries kept; a real app's entry is ~10 MB. */
const KEEP = 4;

export function bundleCacheDir(projectRoot: string, env: Record<string, string | undefined>): string {
  return join(env.FERRY_CACHE_DIR || join(projectRoot, '.ferry', 'cache'), 'bundles');
}

export interface CachedBundle {
  files: BundledFile[];
  /** The cache key (sha256 hex); null when the entry belongs to no project and was not cached. */
  key: string | null;
  /** True when ncc did not run. */
  hit: boolean;
}

/** The folder whose files decide the bundle of `entryPath`, or null when there is none to hash. */
export function projectOf(entryPath: string): string | null {
  let fallback: string | null = null;
  for (let dir = dirname(entryPath); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package-lock.json')) || existsSync(join(dir, 'npm-shrinkwrap.json')))
      return dir;
    if (fallback === null && existsSync(join(dir, 'package.json'))) fallback = dir;
    if (dirname(dir) === dir) return fallback;
  }
}

export async function cachedBundle(opts: {
  entryPath: string;
  /** Where ncc runs (the folder of releases.yaml). */
  root: string;
  cacheDir: string;
  /** Skip the lookup (the result is still stored for the next build). */
  noCache?: boolean;
  /** Folders whose files are output, not input (the artifact folder). */
  exclude?: string[];
  /** Called before ncc runs. */
  onMiss?: () => void;
}): Promise<CachedBundle> {
  const project = projectOf(opts.entryPath);
  if (project === null) {
    opts.onMiss?.();
    return { files: await bundleApp(opts.entryPath, opts.root), key: null, hit: false };
  }
  const key = await bundleKey(opts.entryPath, opts.root, project, opts.exclude);
  const dir = join(opts.cacheDir, key);
  if (!opts.noCache) {
    const files = await readEntry(dir);
    if (files) {
      // Touched so pruning keeps the entries in use.
      const now = new Date();
      await utimes(dir, now, now).catch(() => undefined);
      return { files, key, hit: true };
    }
  }
  opts.onMiss?.();
  const files = await bundleApp(opts.entryPath, opts.root);
  await writeEntry(opts.cacheDir, key, files).catch(() => undefined);
  return { files, key, hit: false };
}

export async function bundleKey(
  entryPath: string,
  root: string,
  project: string,
  exclude: string[] = [],
): Promise<string> {
  const h = createHash('sha256');
  const field = (name: string, value: string | Buffer) => {
    h.update(`${name}\0${Buffer.byteLength(value)}\0`);
    h.update(value);
  };
  field('format', FORMAT);
  field('ncc', nccVersion());
  field('node', process.versions.node.split('.')[0] ?? '');
  const posix = (p: string) => p.split(sep).join('/');
  // ncc's working folder shapes module ids and map paths, so where it runs is part of the key.
  field('cwd', posix(relative(project, root)));
  field(
    'args',
    nccArgs(posix(relative(root, entryPath)), '<out>')
      .slice(1)
      .join(' '),
  );
  for (const file of await projectFiles(project, exclude)) {
    field('path', file);
    field('bytes', await readFile(join(project, file)));
  }
  return h.digest('hex');
}

/** Every regular file under root that can change a bundle, as sorted POSIX paths. */
export async function projectFiles(root: string, exclude: string[] = []): Promise<string[]> {
  const skip = new Set([join(root, 'dist'), ...exclude]);
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name.startsWith('.') || e.name === 'node_modules' || skip.has(abs)) continue;
        await walk(abs);
      } else if (e.isFile() && e.name !== '.git') out.push(relative(root, abs).split(sep).join('/'));
    }
  };
  await walk(root);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

let cachedNccVersion: string | undefined;
function nccVersion(): string {
  cachedNccVersion ??= (
    JSON.parse(readFileSync(createRequire(import.meta.url).resolve('@vercel/ncc/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  return cachedNccVersion;
}

interface ListEntry {
  path: string;
  size: number;
  sha256: string;
  executable: boolean;
}

async function readEntry(dir: string): Promise<BundledFile[] | null> {
  try {
    const list = JSON.parse(await readFile(join(dir, LIST), 'utf8')) as ListEntry[];
    const files: BundledFile[] = [];
    for (const f of list) {
      const bytes = await readFile(join(dir, 'files', f.path));
      if (bytes.length !== f.size || sha256(bytes) !== f.sha256) return null;
      files.push({ path: f.path, bytes, executable: f.executable });
    }
    return files.length > 0 ? files : null;
  } catch {
    return null;
  }
}

/** Written into a temp folder and renamed into place, so a reader sees a whole entry or none. */
async function writeEntry(cacheDir: string, key: string, files: BundledFile[]): Promise<void> {
  const tmp = join(cacheDir, `.${key}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(tmp, { recursive: true });
    for (const f of files) {
      const dest = join(tmp, 'files', f.path);
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(dest, f.bytes);
    }
    const list: ListEntry[] = files.map((f) => ({
      path: f.path,
      size: f.bytes.length,
      sha256: sha256(f.bytes),
      executable: f.executable,
    }));
    await writeFile(join(tmp, LIST), `${JSON.stringify(list, null, 1)}\n`);
    await rm(join(cacheDir, key), { recursive: true, force: true });
    await rename(tmp, join(cacheDir, key));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  await prune(cacheDir);
}

async function prune(cacheDir: string): Promise<void> {
  const entries = await Promise.all(
    (await readdir(cacheDir))
      .filter((n) => /^[0-9a-f]{64}$/.test(n))
      .map(async (n) => ({ n, t: (await stat(join(cacheDir, n))).mtimeMs })),
  );
  entries.sort((a, b) => b.t - a.t);
  for (const e of entries.slice(KEEP)) await rm(join(cacheDir, e.n), { recursive: true, force: true });
}
