import { createInterface } from 'node:readline';
import { UsageError } from '../../errors';
import { ExitCode } from '../../exit-codes';
import { DEPLOY_SECRETS, PUBLISH_SECRETS } from '../../init/ci/secrets';
import { type Ask, parseCiList, runInit } from '../../init/init';
import type { Command } from '../command';
import type { WritableLike } from '../io';

export const command: Command = {
  usage:
    'ferry init [--yes] [--entry FILE] [--port N] [--name NAME] [--health-path P] [--ci LIST] [--deploy ENV] [--force]',
  help: `Sets up Ferry in a Node project (TypeScript or JavaScript), run at its root:

  releases.yaml     app name, entry, port and runtime detected from package.json ("scripts.start",
                    "main", "bin") and the entry's source (process.env.PORT, a /healthz-like route);
                    a local registry and two local hosts, so this works at once, with no cloud account:
                      npx ferry publish && npx ferry setup local && npx ferry deploy local
                    and a commented OSS + ECS block for the real thing
  .ferry/signing-key.pem
                    the release signing key (0600), kept if it exists; .gitignore gets .ferry/ and dist/
                    first, so the key is never committed. Its public half goes into releases.yaml.
  CI templates      publish on pushes to the main branch and v* tags; with --deploy ENV also deploy
                    v* tags to ENV. GitHub Actions (.github/workflows/ferry.yml), GitLab CI
                    (.gitlab-ci.yml, or .gitlab/ferry.gitlab-ci.yml to include when one exists),
                    Alibaba Cloud Flow (.workflow/ferry.yml). Each names the secrets it reads.

On a terminal, each detected value is offered as the default of a question; --yes (or no terminal)
takes the defaults without asking. Files that exist are not replaced unless --force.

options:
  -y, --yes             take the detected defaults, ask nothing
      --entry FILE      the file ncc bundles (relative to the project root)
      --port N          the port the app listens on when PORT is unset (default: detected, else 3000)
      --name NAME       app.name (default: package.json's name)
      --health-path P   a path answering 2xx when the app is healthy (default: detected, else /)
      --ci LIST         github, gitlab, flow (comma-separated), all or none (default: the CIs the
                        project shows signs of, else github)
      --deploy ENV      the CI templates also deploy v* tags to this environment
      --branch NAME     the branch whose pushes publish (default main)
      --force           overwrite releases.yaml and CI files that exist

examples:
  npx ferry init --yes
  npx ferry init --entry src/server.ts --ci github,flow --deploy production`,
  options: {
    yes: { type: 'boolean', short: 'y' },
    entry: { type: 'string' },
    port: { type: 'string' },
    name: { type: 'string' },
    'health-path': { type: 'string' },
    ci: { type: 'string' },
    deploy: { type: 'string' },
    branch: { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(ctx) {
    const f = ctx.flags;
    const str = (k: string) => (typeof f[k] === 'string' ? (f[k] as string) : undefined);
    const portFlag = str('port');
    if (portFlag !== undefined && !/^\d+$/.test(portFlag)) {
      throw new UsageError(`--port ${portFlag} is not a number`, { remedy: 'e.g. --port 3000' });
    }
    const interactive = f.yes !== true && ctx.io.isTTY && ctx.io.stdin !== undefined;
    const asker = interactive ? lineAsker(ctx.io.stdin as NodeJS.ReadableStream, ctx.io.stderr) : null;
    let r: Awaited<ReturnType<typeof runInit>>;
    try {
      r = await runInit({
        root: ctx.io.cwd,
        force: f.force === true,
        ...(str('name') !== undefined ? { name: str('name') } : {}),
        ...(str('entry') !== undefined ? { entry: str('entry') } : {}),
        ...(portFlag !== undefined ? { port: Number(portFlag) } : {}),
        ...(str('health-path') !== undefined ? { healthPath: str('health-path') } : {}),
        ci: str('ci') === undefined ? null : parseCiList(str('ci') as string),
        deployEnv: str('deploy') ?? null,
        branch: str('branch') ?? 'main',
        ask: asker?.ask ?? null,
      });
    } finally {
      asker?.close();
    }

    const secrets = [...PUBLISH_SECRETS, ...(r.deployEnv ? DEPLOY_SECRETS : [])];
    if (ctx.out.json) {
      ctx.out.result({
        ok: true,
        name: r.name,
        entry: r.entry,
        port: r.port,
        healthPath: r.healthPath,
        ci: r.ci,
        deployEnv: r.deployEnv,
        written: r.written,
        gitignore: r.gitignore,
        publicKey: r.key.publicKey,
        keyFile: r.key.file,
        keyCreated: r.key.created,
        localPorts: r.localPorts,
        readsPort: r.facts.readsPort,
        secrets: r.ci.length > 0 ? secrets.map((s) => s.name) : [],
      });
      return ExitCode.Ok;
    }
    const { style, out } = ctx;
    out.print(
      `${style.green('ferry init')}: ${r.name}, entry ${r.entry}, port ${r.port}, health ${r.healthPath}`,
    );
    for (const file of r.written) out.print(`  wrote ${file}`);
    if (r.gitignore !== 'unchanged') out.print(`  ${r.gitignore} .gitignore (.ferry/ and dist/ are ignored)`);
    out.print(
      r.key.created
        ? `  signing key: .ferry/signing-key.pem (0600, git-ignored), public key in releases.yaml`
        : `  signing key: kept .ferry/signing-key.pem (public key ${r.key.publicKey})`,
    );
    if (r.facts.readsPort === false && r.entry === r.facts.entry?.path) {
      out.warn(`${r.entry} does not seem to read process.env.PORT: Ferry tells the app its port that way`);
    }
    if (r.gitlabInclude) {
      out.print(`  .gitlab-ci.yml exists: add to it   include: [{ local: .gitlab/ferry.gitlab-ci.yml }]`);
    }
    out.print('');
    out.print('Try it on this machine (two local hosts, no cloud account):');
    out.print('  npx ferry publish && npx ferry setup local && npx ferry deploy local');
    out.print(`  curl http://127.0.0.1:${r.localPorts[0]}${r.healthPath}`);
    if (r.ci.length > 0) {
      out.print('');
      out.print(
        'For CI, switch releases.yaml to the oss registry (its commented block), then set these secrets:',
      );
      for (const s of secrets) out.print(`  ${s.name.padEnd(22)} ${s.what}`);
      out.print('Never commit .ferry/signing-key.pem; its contents are the FERRY_SIGNING_KEY secret.');
    }
    return ExitCode.Ok;
  },
};

/** Questions on stderr (stdout stays for results), answers one line each from stdin. */
function lineAsker(input: NodeJS.ReadableStream, out: WritableLike): { ask: Ask; close(): void } {
  const rl = createInterface({ input, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  return {
    ask: async (question, def) => {
      out.write(`${question}${def ? ` [${def}]` : ''}: `);
      const next = await lines.next();
      if (next.done) {
        throw new UsageError('input ended before ferry init had all its answers', {
          remedy: 'answer each question, or pass --yes to take the detected defaults',
        });
      }
      return (next.value as string).trim() || def;
    },
    close: () => rl.close(),
  };
}
