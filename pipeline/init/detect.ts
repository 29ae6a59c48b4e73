// What `ferry init` can tell about a Node project from its files alone: the entry ncc should bundle, the
// port convention, a health route, the app's name, and which CI it uses. The parsers are pure (text in,
// answer out) and unit-tested; detectProject() only reads the files they need.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, normalize, posix } from 'node:path';

export type EntrySource = 'main' | 'bin' | 'scripts.start' | 'file';

export interface EntryGuess {
  /** Relative to the project root, with forward slashes. */
  path: string;
  source: EntrySource;
}

export type CiName = 'github' | 'gitlab' | 'flow';

export interface ProjectFacts {
  root: string;
  /** A valid app.name derived from package.json's name (or the folder's). */
  name: string;
  /** package.json's version, for messages. */
  version: string | null;
  entry: EntryGuess | null;
  typescript: boolean;
  /** Whether the entry reads process.env.PORT; null when there is no entry to read. */
  readsPort: boolean | null;
  /** The port the entry falls back to when PORT is unset (`process.env.PORT ?? 8080`), else 3000. */
  port: number;
  /** A route the entry source names that looks like a health check, else "/". */
  healthPath: string;
  /** npm ci needs a package-lock.json; without one the CI templates run npm install. */
  lockfile: boolean;
  /** The CIs the project already shows signs of (config files, git remote host). */
  ci: CiName[];
}

const NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;

/** package.json's name ("@acme/Web_API") as an app.name ("web-api"); the folder name when there is none. */
export function appNameFrom(pkgName: unknown, dirName: string): string {
  const raw = typeof pkgName === 'string' && pkgName !== '' ? pkgName.replace(/^@[^/]+\//, '') : dirName;
  let name = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  if (!NAME_RE.test(name)) name = 'app';
  return name;
}

/**
 * The script file a `scripts.start` runs: `node server.js`, `node --enable-source-maps dist/index.js`,
 * `tsx src/main.ts`, `ts-node src/app.ts`, `NODE_ENV=production node app.js`. Anything else (a framework's
 * own CLI, `npm run build && ...` chains with no node call) gives null.
 */
export function entryFromStartScript(script: string): string | null {
  for (const part of script.split(/&&|;|\|\|/)) {
    const words = part.trim().split(/\s+/);
    let i = 0;
    while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] as string)) i++;
    const runner = words[i];
    if (runner === undefined || !/^(node|nodemon|tsx|ts-node|ts-node-esm|bun)$/.test(basename(runner)))
      continue;
    for (let j = i + 1; j < words.length; j++) {
      const w = words[j] as string;
      if (w.startsWith('-')) {
        // Flags that take a separate value: skip it too.
        if (/^(-r|--require|--import|--loader|--env-file|-e|--eval)$/.test(w)) j++;
        continue;
      }
      if (/\.(c|m)?(j|t)sx?$/.test(w) || !w.includes('.')) return cleanPath(w);
      return null;
    }
  }
  return null;
}

function cleanPath(p: string): string {
  return posix.normalize(p.replace(/\\/g, '/').replace(/^['"]|['"]$/g, '')).replace(/^\.\//, '');
}

/** Candidates from package.json, in the order they are trusted: scripts.start, main, bin. */
export function entryCandidates(pkg: Record<string, unknown>): EntryGuess[] {
  const out: EntryGuess[] = [];
  const scripts = pkg.scripts as Record<string, unknown> | undefined;
  const start = typeof scripts?.start === 'string' ? entryFromStartScript(scripts.start) : null;
  if (start) out.push({ path: start, source: 'scripts.start' });
  if (typeof pkg.main === 'string' && pkg.main !== '')
    out.push({ path: cleanPath(pkg.main), source: 'main' });
  const bin = pkg.bin;
  if (typeof bin === 'string') out.push({ path: cleanPath(bin), source: 'bin' });
  else if (bin && typeof bin === 'object') {
    const first = Object.values(bin as Record<string, unknown>).find((v) => typeof v === 'string');
    if (typeof first === 'string') out.push({ path: cleanPath(first), source: 'bin' });
  }
  return out;
}

/** Files a project without any hint in package.json usually starts from. */
export const CONVENTIONAL_ENTRIES = [
  'src/server.ts',
  'src/index.ts',
  'src/main.ts',
  'server.ts',
  'index.ts',
  'src/server.js',
  'src/index.js',
  'server.js',
  'index.js',
  'app.js',
  'main.js',
] as const;

/**
 * The first candidate that exists. A compiled path that is not there yet (dist/server.js before a build)
 * is mapped to its TypeScript source (src/server.ts) when that exists: ncc bundles the source directly,
 * so CI needs no separate build step.
 */
export function pickEntry(candidates: EntryGuess[], exists: (rel: string) => boolean): EntryGuess | null {
  for (const c of candidates) {
    for (const path of [c.path, ...sourceOf(c.path), ...indexOf(c.path)]) {
      if (exists(path)) return { path, source: c.source };
    }
  }
  for (const path of CONVENTIONAL_ENTRIES) if (exists(path)) return { path, source: 'file' };
  return null;
}

function sourceOf(path: string): string[] {
  const ts = path.replace(/\.(c|m)?js$/, '.$1ts');
  const inSrc = ts.replace(/^(dist|build|lib|out)\//, 'src/');
  return [...new Set([ts, inSrc])].filter((p) => p !== path);
}

/** `main: "lib"` means lib/index.js, as Node resolves it. */
function indexOf(path: string): string[] {
  if (/\.[a-z]+$/.test(path)) return [];
  return [`${path}.js`, `${path}/index.js`, `${path}.ts`, `${path}/index.ts`];
}

/** Whether the source reads PORT from the environment (the supervisor sets it for every worker). */
export function readsPortEnv(source: string): boolean {
  return /process\.env\.PORT\b|process\.env\[['"]PORT['"]\]|\{[^}]*\bPORT\b[^}]*\}\s*=\s*process\.env/.test(
    source,
  );
}

/** The fallback in `process.env.PORT ?? 8080` / `|| '8080'` / `Number(process.env.PORT) || 8080`. */
export function defaultPortIn(source: string): number | null {
  const m = /process\.env(?:\.PORT|\[['"]PORT['"]\])\)?\s*(?:\?\?|\|\|)\s*['"]?(\d{2,5})['"]?/.exec(source);
  const port = m ? Number(m[1]) : Number.NaN;
  return port >= 1 && port <= 65535 ? port : null;
}

/** A health-looking route the source names ('/healthz', '/health', '/ping', ...), else "/". */
export function healthPathIn(source: string): string {
  for (const path of ['/healthz', '/health', '/livez', '/readyz', '/ping', '/status']) {
    if (source.includes(`'${path}'`) || source.includes(`"${path}"`) || source.includes(`\`${path}\``))
      return path;
  }
  return '/';
}

/** The CI a git remote URL points at: github.com, GitLab (gitlab.com or a host named gitlab), Codeup. */
export function ciFromRemote(url: string): CiName | null {
  if (/github\.com[:/]/.test(url)) return 'github';
  if (/gitlab/.test(url)) return 'gitlab';
  if (/codeup\.aliyun\.com|devops\.aliyun|alibabacloudcs\.com/.test(url)) return 'flow';
  return null;
}

export function detectProject(root: string, gitRemote: string | null = null): ProjectFacts {
  const pkgFile = join(root, 'package.json');
  let pkg: Record<string, unknown> = {};
  if (existsSync(pkgFile)) {
    try {
      pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as Record<string, unknown>;
    } catch {
      pkg = {};
    }
  }
  const exists = (rel: string) => existsSync(join(root, normalize(rel)));
  const entry = pickEntry(entryCandidates(pkg), exists);
  let source: string | null = null;
  if (entry) {
    try {
      source = readFileSync(join(root, entry.path), 'utf8');
    } catch {
      source = null;
    }
  }
  const ci = new Set<CiName>();
  if (exists('.github')) ci.add('github');
  if (exists('.gitlab-ci.yml')) ci.add('gitlab');
  if (exists('.workflow')) ci.add('flow');
  const fromRemote = gitRemote ? ciFromRemote(gitRemote) : null;
  if (fromRemote) ci.add(fromRemote);
  return {
    root,
    name: appNameFrom(pkg.name, basename(root)),
    version: typeof pkg.version === 'string' ? pkg.version : null,
    entry,
    typescript: exists('tsconfig.json') || (entry?.path.endsWith('ts') ?? false),
    readsPort: source === null ? null : readsPortEnv(source),
    port: (source === null ? null : defaultPortIn(source)) ?? 3000,
    healthPath: source ? healthPathIn(source) : '/',
    lockfile: exists('package-lock.json') || exists('npm-shrinkwrap.json'),
    ci: [...ci],
  };
}
