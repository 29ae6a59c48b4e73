// Finds, parses and validates releases.yaml. Every problem found is reported at once, one line each, with
// its key path and line number, so a broken file is fixed in one pass.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { ConfigError } from '../errors';
import { PACKAGE_ROOT } from '../package-root';
import { crossChecks } from './checks';
import { CREDENTIAL_ENV_VARS, credentialProblems } from './credentials';
import { formatProblem, type KeyPath, type Problem } from './problems';
import { type FerryConfig, resolveConfig } from './resolve';
import { type ReleasesFile, ReleasesSchema } from './schema';
import { schemaProblems } from './schema-errors';

export const CONFIG_FILE = 'releases.yaml';

// The Ferry package's own root (the repo this CLI ships in): the last place a config is looked for.
export { PACKAGE_ROOT };

type Env = Record<string, string | undefined>;

/**
 * Which releases.yaml to use: `-c FILE`, else $FERRY_CONFIG, else the nearest releases.yaml from the cwd
 * upward, else the one at the Ferry package root (the embedded default).
 */
export function findConfigFile(opts: { explicit?: string | undefined; cwd: string; env: Env }): string {
  const chosen = opts.explicit ?? opts.env.FERRY_CONFIG;
  if (chosen) {
    const file = resolve(opts.cwd, chosen);
    if (!existsSync(file)) {
      throw new ConfigError(`config file not found: ${file}`, {
        remedy: 'check the path given to -c/--config (or FERRY_CONFIG)',
      });
    }
    return file;
  }
  for (let dir = resolve(opts.cwd); ; dir = dirname(dir)) {
    const file = resolve(dir, CONFIG_FILE);
    if (existsSync(file)) return file;
    if (dirname(dir) === dir) break;
  }
  // Absent from the packed package (package.json "files"): an installed ferry says to run ferry init
  // rather than act on the storage service's config.
  const embedded = resolve(PACKAGE_ROOT, CONFIG_FILE);
  if (existsSync(embedded)) return embedded;
  throw new ConfigError(`no ${CONFIG_FILE} found from ${opts.cwd} upward`, {
    remedy: `run ferry inside the project, create one there with \`npx ferry init\`, or pass -c path/to/${CONFIG_FILE}`,
  });
}

export function loadConfig(opts: { explicit?: string | undefined; cwd: string; env: Env }): FerryConfig {
  const file = findConfigFile(opts);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`, {
      remedy: 'pass a readable file to -c',
    });
  }
  return parseConfig(text, file, opts.env);
}

/** Parses config text; `file` names it in errors and anchors relative paths. Throws ConfigError. */
export function parseConfig(text: string, file: string, env: Env = {}): FerryConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`${file} is not valid YAML:`, {
      problems: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const firstLine = e.message.split('\n')[0] ?? e.message;
        return pos
          ? `line ${pos.line}, column ${pos.col}: ${firstLine.replace(/ at line \d+, column \d+:?$/, '')}`
          : firstLine;
      }),
      remedy: 'fix the YAML syntax at the position shown',
    });
  }
  const data = dropEmpty(doc.toJS());
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`${file} must be a mapping with app, registry and environments keys`, {
      remedy: 'start from the releases.yaml in the Ferry repository',
    });
  }

  const secrets = credentialProblems(data);
  const flagged = new Set(secrets.map((p) => JSON.stringify(p.path)));
  const problems: Problem[] = [
    ...secrets,
    ...[...schemaProblems(ReleasesSchema, data), ...crossChecks(data)].filter(
      (p) => !flagged.has(JSON.stringify(p.path)),
    ),
  ];
  if (problems.length > 0) {
    const located = problems
      .map((p) => ({ ...p, line: lineOf(doc.contents, p.path, lineCounter) }))
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError(
      `${file} has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:`,
      {
        problems: located.map(formatProblem),
        remedy:
          secrets.length > 0
            ? `secrets come from the environment: ${CREDENTIAL_ENV_VARS.oss}; signing key: ${CREDENTIAL_ENV_VARS.signing}; app secrets: ${CREDENTIAL_ENV_VARS.app}; notification URLs and secrets: ${CREDENTIAL_ENV_VARS.notifications}`
            : 'see docs/releases.md for every key; editors validate with releases.schema.json',
      },
    );
  }
  return resolveConfig(data as ReleasesFile, file, dirname(file), env);
}

/** `key:` with nothing after it means "not set", as people write it when commenting a block out. */
function dropEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropEmpty);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, dropEmpty(v)]),
  );
}

/** Line of the YAML node at `path` (the key, for map entries), or of its nearest existing parent. */
function lineOf(root: unknown, path: KeyPath, lc: LineCounter): number | undefined {
  let node = root as Node | null | undefined;
  let offset: number | undefined = node?.range?.[0];
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      offset = (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? offset;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset === undefined ? undefined : lc.linePos(offset).line;
}
