// `ferry init`: detect the project, settle each answer (flag, else a question on a terminal, else the
// detected default), then write releases.yaml and the CI files in one go. Existing files are left alone
// unless --force; the private key only ever goes to the git-ignored .ferry/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { PACKAGE_ROOT } from '../config/load';
import { ConfigError, FerryError, UsageError } from '../errors';
import { FLOW_PIPELINE_PATH, flowPipeline } from './ci/flow';
import { GITHUB_WORKFLOW_PATH, githubWorkflow } from './ci/github';
import { GITLAB_CI_PATH, GITLAB_INCLUDE_PATH, gitlabCi } from './ci/gitlab';
import type { CiInput } from './ci/secrets';
import { type CiName, detectProject, type ProjectFacts } from './detect';
import { existing, freeLocalPorts, gitignoreWith, type PlannedFile, projectKey, writeAll } from './files';
import { releasesYaml } from './releases-yaml';

export const CI_NAMES: readonly CiName[] = ['github', 'gitlab', 'flow'];

/** Asks one question with a default; returns the answer (the default on an empty line). */
export type Ask = (question: string, defaultAnswer: string) => Promise<string>;

export interface InitOptions {
  root: string;
  force: boolean;
  name?: string;
  entry?: string;
  port?: number;
  healthPath?: string;
  /** null: detect (the CIs the project shows signs of, else GitHub). */
  ci: CiName[] | null;
  deployEnv: string | null;
  branch: string;
  /** null: no questions (--yes, or no terminal). */
  ask: Ask | null;
  nodeMajor?: number;
  arch?: string;
}

export interface InitResult {
  facts: ProjectFacts;
  name: string;
  entry: string;
  port: number;
  healthPath: string;
  ci: CiName[];
  /** The environment the CI templates deploy on v* tags, or null. */
  deployEnv: string | null;
  written: string[];
  gitignore: 'created' | 'updated' | 'unchanged';
  key: { publicKey: string; file: string; created: boolean };
  localPorts: [number, number];
  /** Set when the CI file had to go beside an existing .gitlab-ci.yml. */
  gitlabInclude: boolean;
}

const NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;
const ENV_RE = /^[a-z][a-z0-9-]{0,62}$/;

export async function runInit(o: InitOptions): Promise<InitResult> {
  const facts = detectProject(o.root, gitRemote(o.root));
  if (!existsSync(join(o.root, 'package.json'))) {
    throw new UsageError(`${o.root} has no package.json`, {
      remedy: 'run ferry init at the root of the Node project (npm init -y creates a package.json)',
    });
  }
  const ask = o.ask;
  const settle = async (flag: string | undefined, question: string, detected: string | null) => {
    if (flag !== undefined) return flag;
    if (ask) return (await ask(question, detected ?? '')).trim() || detected;
    return detected;
  };

  const name = (await settle(o.name, 'app name', facts.name)) ?? facts.name;
  if (!NAME_RE.test(name)) {
    throw new UsageError(`app name "${name}" is not valid`, {
      remedy: 'use lowercase letters, digits and dashes, starting with a letter (max 63): --name my-app',
    });
  }
  const entry = await settle(o.entry, 'entry file (what ncc bundles)', facts.entry?.path ?? null);
  if (!entry) {
    throw new UsageError('could not tell which file starts the app', {
      remedy:
        'pass --entry FILE (e.g. --entry src/server.ts), or set "main" or a "start" script (node FILE) in package.json',
    });
  }
  if (!existsSync(join(o.root, entry))) {
    throw new UsageError(`the entry ${entry} does not exist in ${o.root}`, {
      remedy: 'pass --entry with a path relative to the project root',
    });
  }
  const portText = await settle(
    o.port === undefined ? undefined : String(o.port),
    'port',
    String(facts.port),
  );
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`port "${portText}" is not a port number`, { remedy: 'use 1-65535: --port 3000' });
  }
  const healthPath =
    (await settle(o.healthPath, 'health check path (2xx when healthy)', facts.healthPath)) ?? '/';
  if (!healthPath.startsWith('/')) {
    throw new UsageError(`health path "${healthPath}" must start with /`, {
      remedy: 'e.g. --health-path /healthz',
    });
  }
  const detectedCi = facts.ci.length > 0 ? facts.ci : (['github'] as CiName[]);
  const ci =
    o.ci ??
    (ask
      ? parseCiList(await ask('CI templates (github, gitlab, flow, none)', detectedCi.join(',')))
      : detectedCi);
  const deployEnv =
    o.deployEnv ??
    (ask && ci.length > 0
      ? (await ask('environment CI deploys on v* tags (empty: none)', '')) || null
      : null);
  if (deployEnv !== null && !ENV_RE.test(deployEnv)) {
    throw new UsageError(`environment name "${deployEnv}" is not valid`, {
      remedy: 'lowercase letters, digits and dashes, as in releases.yaml: --deploy production',
    });
  }

  const nodeMajor = o.nodeMajor ?? Number(process.versions.node.split('.')[0]);
  const arch = o.arch ?? process.arch;
  if (arch !== 'x64' && arch !== 'arm64') {
    throw new ConfigError(`this machine is ${arch}; Ferry ships Node runtimes for x64 and arm64 only`, {
      remedy: 'run ferry init (and publish) on an x64 or arm64 machine',
    });
  }
  const ciInput: CiInput = { name, nodeMajor, lockfile: facts.lockfile, deployEnv, branch: o.branch };
  const gitlabInclude = ci.includes('gitlab') && existsSync(join(o.root, GITLAB_CI_PATH)) && !o.force;
  const ciFiles: PlannedFile[] = ci.map((c) =>
    c === 'github'
      ? { path: GITHUB_WORKFLOW_PATH, text: githubWorkflow(ciInput) }
      : c === 'gitlab'
        ? { path: gitlabInclude ? GITLAB_INCLUDE_PATH : GITLAB_CI_PATH, text: gitlabCi(ciInput) }
        : { path: FLOW_PIPELINE_PATH, text: flowPipeline(ciInput) },
  );
  // Refuse before writing anything: nothing of the project's is replaced without --force.
  const taken = existing(o.root, [{ path: 'releases.yaml', text: '' }, ...ciFiles]);
  if (taken.length > 0 && !o.force) {
    throw new FerryError(`ferry init would replace ${taken.join(', ')}`, {
      remedy: 'move them away, or pass --force to overwrite them (the signing key in .ferry/ is kept)',
    });
  }

  // .ferry/ must be ignored before the private key lands in it.
  const gitignorePath = join(o.root, '.gitignore');
  const before = existsSync(gitignorePath) ? await readFile(gitignorePath, 'utf8') : null;
  const after = gitignoreWith(before);
  if (after !== null) await writeFile(gitignorePath, after);
  const key = await projectKey(o.root);
  const localPorts = (await freeLocalPorts(Math.min(port + 101, 65000), 2)) as [number, number];

  const yaml = releasesYaml({
    name,
    entry,
    entrySource: o.entry !== undefined ? 'flag' : entry === facts.entry?.path ? facts.entry.source : 'answer',
    port,
    readsPort: facts.entry?.path === entry ? facts.readsPort : null,
    nodeMajor,
    arch,
    publicKey: key.publicKey,
    healthPath,
    localPorts,
    schemaPath: schemaPathFrom(o.root),
  });
  const files = [{ path: 'releases.yaml', text: yaml }, ...ciFiles];
  await writeAll(o.root, files);
  return {
    facts,
    name,
    entry,
    port,
    healthPath,
    ci,
    deployEnv,
    written: files.map((f) => f.path),
    gitignore: after === null ? 'unchanged' : before === null ? 'created' : 'updated',
    key,
    localPorts,
    gitlabInclude,
  };
}

/** "github,gitlab" / "all" / "none" → the CI names; anything unknown is a usage error naming it. */
export function parseCiList(text: string): CiName[] {
  const t = text.trim().toLowerCase();
  if (t === 'none' || t === '') return [];
  if (t === 'all') return [...CI_NAMES];
  const names = t.split(/[\s,]+/).filter(Boolean);
  const bad = names.filter((n) => !(CI_NAMES as readonly string[]).includes(n));
  if (bad.length > 0) {
    throw new UsageError(`unknown CI "${bad.join(', ')}"`, {
      remedy: 'use github, gitlab, flow (comma-separated), all or none',
    });
  }
  return [...new Set(names)] as CiName[];
}

/** ./node_modules/ferry/releases.schema.json when installed; the absolute path of a checkout elsewhere. */
function schemaPathFrom(root: string): string {
  const schema = join(PACKAGE_ROOT, 'releases.schema.json');
  const rel = relative(root, schema).split(sep).join('/');
  return rel.startsWith('..') ? schema : `./${rel}`;
}

function gitRemote(root: string): string | null {
  const r = spawnSync('git', ['-C', root, 'remote', 'get-url', 'origin'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return r.status === 0 ? r.stdout.trim() : null;
}
