// Which installed packages a set of imports pulls in (Node's resolution over node_modules), and how big
// they are: the node_modules a Docker image of the service would carry. Read-only on the repo.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** The folder Node would load `name` from, looking up from `from` to `root`; null if not installed. */
export function resolvePackageDir(name: string, from: string, root: string): string | null {
  for (let d = from; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (d === root || d === dirname(d)) return null;
  }
}

/** Package folders in the closure of `names`: dependencies, plus optional and peer ones when installed. */
export function dependencyClosure(names: readonly string[], root: string): string[] {
  const seen = new Set<string>();
  const visit = (name: string, from: string, required: boolean) => {
    const dir = resolvePackageDir(name, from, root);
    if (!dir) {
      if (required) throw new Error(`${name} is not installed (needed from ${relative(root, from) || '.'})`);
      return;
    }
    if (seen.has(dir)) return;
    seen.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, true);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(pkg.peerDependencies ?? {})) {
      visit(dep, dir, false);
    }
  };
  for (const n of names) visit(n, root, true);
  return [...seen].sort();
}

/** Every file of a package folder, its own nested node_modules excluded (those are packages too). */
export function packageFiles(dir: string): { path: string; size: number }[] {
  const out: { path: string; size: number }[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (!(e.name === 'node_modules' && d === dir)) walk(p);
      } else if (e.isFile()) out.push({ path: p, size: statSync(p).size });
    }
  };
  walk(dir);
  return out;
}
