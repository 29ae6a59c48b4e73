// Which npm packages a bundle contains, with the version and licence the lockfile pins. The source map
// lists every module webpack put in the bundle ("../node_modules/fastify/lib/route.js"), so it names
// exactly the packages that ship, not everything package.json depends on (the CLI's own tools included).

import type { BundledDependency } from '../release/manifest';

interface LockPackage {
  version?: unknown;
  license?: unknown;
}

/**
 * Pure: the package folders named by the map's sources, looked up in an npm v2/v3 lockfile's `packages`.
 * A nested copy (node_modules/a/node_modules/b) counts as its own entry when its version differs.
 */
export function bundledDependencies(
  sources: readonly string[],
  lockfile: { packages?: Record<string, LockPackage> },
): BundledDependency[] {
  const packages = lockfile.packages ?? {};
  const found = new Map<string, BundledDependency>();
  for (const source of sources) {
    const folder = packageFolder(source);
    if (folder === null) continue;
    const entry = packages[folder];
    if (!entry || typeof entry.version !== 'string') continue;
    const name = folder.slice(folder.lastIndexOf('node_modules/') + 'node_modules/'.length);
    found.set(`${name}@${entry.version}`, {
      name,
      version: entry.version,
      license: typeof entry.license === 'string' ? entry.license : null,
    });
  }
  return [...found.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : 1,
  );
}

/** "../node_modules/@a/b/node_modules/c/x.js" → "node_modules/@a/b/node_modules/c"; null outside node_modules. */
export function packageFolder(source: string): string | null {
  const parts = source.replace(/^webpack:\/\/[^/]*\//, '').split('/');
  const first = parts.indexOf('node_modules');
  if (first === -1) return null;
  const out: string[] = [];
  let i = first;
  while (i < parts.length && parts[i] === 'node_modules') {
    const name = parts[i + 1];
    if (!name) break;
    const scoped = name.startsWith('@');
    const full = scoped ? `${name}/${parts[i + 2] ?? ''}` : name;
    if (scoped && !parts[i + 2]) break;
    out.push('node_modules', full);
    i += scoped ? 3 : 2;
  }
  return out.length === 0 ? null : out.join('/');
}
