// `ferry init` through the CLI's main(), in temp projects: what it writes, what it refuses, and that the
// private key never becomes committable. The files' contents are covered by releases-yaml.test.ts and
// ci-templates.test.ts; the whole flow from a packed tarball by packed-install.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../pipeline/cli/main';
import { loadConfig } from '../../../pipeline/config/load';
import { ExitCode } from '../../../pipeline/exit-codes';
import { loadPrivateKey } from '../../../pipeline/release/signing';
import { requireTool, skipUnless } from '../../support/require-tool';
import { sink } from '../build/fixture-app';
import { ferry } from '../cli/run';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function project(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'ferry-init-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

const APP = `const http = require('node:http');
http.createServer((req, res) => res.end('hi')).listen(Number(process.env.PORT) || 4000);
`;

describe('ferry init --yes', () => {
  it.skipIf(skipUnless(requireTool('git', 'git')))(
    'writes a loadable releases.yaml, the CI file, a 0600 key git ignores',
    async () => {
      const root = await project({
        'package.json': JSON.stringify({ name: 'hello', scripts: { start: 'node app.js' } }),
        'app.js': APP,
        '.gitignore': 'node_modules',
      });
      expect(spawnSync('git', ['init', '-q', root]).status).toBe(0);
      const r = await ferry(['init', '--yes', '--json'], { cwd: root });
      expect(r.code, r.stderr).toBe(ExitCode.Ok);
      const out = r.json<Record<string, unknown>>();
      expect(out).toMatchObject({
        ok: true,
        name: 'hello',
        entry: 'app.js',
        port: 4000,
        healthPath: '/',
        ci: ['github'],
        written: ['releases.yaml', '.github/workflows/ferry.yml'],
        gitignore: 'updated',
        keyCreated: true,
        readsPort: true,
      });
      const config = loadConfig({ cwd: root, env: {} });
      expect(config.file).toBe(join(root, 'releases.yaml'));
      expect(config.signing.publicKey).toBe(out.publicKey);
      const pem = await readFile(join(root, '.ferry', 'signing-key.pem'), 'utf8');
      expect(loadPrivateKey(pem).publicKey).toBe(out.publicKey);
      expect((await stat(join(root, '.ferry', 'signing-key.pem'))).mode & 0o777).toBe(0o600);
      expect(await readFile(join(root, '.gitignore'), 'utf8')).toMatch(
        /^node_modules\n# Ferry: .*\n\.ferry\/\ndist\/\n$/,
      );
      // What `git add -A` would stage: everything init wrote except the key.
      spawnSync('git', ['-C', root, 'add', '-A']);
      const staged = spawnSync('git', ['-C', root, 'diff', '--cached', '--name-only'], { encoding: 'utf8' });
      expect(staged.stdout.trim().split('\n').sort()).toEqual(
        ['.github/workflows/ferry.yml', '.gitignore', 'app.js', 'package.json', 'releases.yaml'].sort(),
      );
    },
  );

  it('refuses to replace releases.yaml without --force, and writes nothing then', async () => {
    const root = await project({
      'package.json': JSON.stringify({ name: 'hello', main: 'app.js' }),
      'app.js': APP,
      'releases.yaml': '# mine\n',
    });
    const r = await ferry(['init', '--yes'], { cwd: root });
    expect(r.code).toBe(ExitCode.Failure);
    expect(r.stderr).toContain('ferry init would replace releases.yaml');
    expect(r.stderr).toContain('--force');
    expect(await readFile(join(root, 'releases.yaml'), 'utf8')).toBe('# mine\n');
    expect(existsSync(join(root, '.ferry'))).toBe(false);
    expect(existsSync(join(root, '.github'))).toBe(false);
  });

  it('--force rewrites it and keeps the key hosts already trust', async () => {
    const root = await project({
      'package.json': JSON.stringify({ name: 'hello', main: 'app.js' }),
      'app.js': APP,
    });
    const first = await ferry(['init', '--yes', '--ci', 'none', '--json'], { cwd: root });
    const again = await ferry(['init', '--yes', '--ci', 'none', '--force', '--json'], { cwd: root });
    expect(again.code, again.stderr).toBe(ExitCode.Ok);
    expect(again.json()).toMatchObject({ keyCreated: false, publicKey: first.json().publicKey });
  });

  it('puts the GitLab file beside an existing .gitlab-ci.yml, to include', async () => {
    const root = await project({
      'package.json': JSON.stringify({ name: 'hello', main: 'app.js' }),
      'app.js': APP,
      '.gitlab-ci.yml': 'test:\n  script: [npm test]\n',
    });
    const r = await ferry(['init', '--yes', '--json'], { cwd: root });
    expect(r.code, r.stderr).toBe(ExitCode.Ok);
    expect(r.json()).toMatchObject({
      ci: ['gitlab'],
      written: ['releases.yaml', '.gitlab/ferry.gitlab-ci.yml'],
    });
    expect(await readFile(join(root, '.gitlab-ci.yml'), 'utf8')).toBe('test:\n  script: [npm test]\n');
  });

  it.each([
    [{ 'package.json': '{"name":"x"}' }, [], /could not tell which file starts the app/, /--entry FILE/],
    [
      { 'package.json': '{"name":"x"}' },
      ['--entry', 'nope.js'],
      /the entry nope.js does not exist/,
      /relative to the project root/,
    ],
    [{ 'a.js': APP }, [], /has no package.json/, /npm init -y/],
    [
      { 'package.json': '{"main":"a.js"}', 'a.js': APP },
      ['--ci', 'jenkins'],
      /unknown CI "jenkins"/,
      /github, gitlab, flow/,
    ],
    [
      { 'package.json': '{"main":"a.js"}', 'a.js': APP },
      ['--name', 'Bad Name'],
      /app name "Bad Name" is not valid/,
      /lowercase/,
    ],
    [
      { 'package.json': '{"main":"a.js"}', 'a.js': APP },
      ['--port', 'http'],
      /--port http is not a number/,
      /--port 3000/,
    ],
  ])('bad input: exit 2 with what is wrong and how to fix it (%#)', async (files, flags, message, remedy) => {
    const root = await project(files as Record<string, string>);
    const r = await ferry(['init', '--yes', ...(flags as string[])], { cwd: root });
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).toMatch(remedy as RegExp);
    expect(existsSync(join(root, 'releases.yaml'))).toBe(false);
  });
});

describe('ferry init on a terminal', () => {
  it('asks each question with the detected default, and takes the answers', async () => {
    const root = await project({
      'package.json': JSON.stringify({ name: 'shop', scripts: { start: 'node server.js' } }),
      'server.js': APP,
      'src/other.js': APP,
    });
    const stdin = new PassThrough();
    // name, entry, port, health path, CI, deploy environment
    stdin.end(['', 'src/other.js', '5000', '/ping', 'github,flow', 'production', ''].join('\n'));
    const stdout = sink(true);
    const stderr = sink(true);
    const code = await main(['init'], { stdout, stderr, env: {}, cwd: root, isTTY: true, stdin });
    expect(code, stderr.text()).toBe(ExitCode.Ok);
    expect(stderr.text()).toContain('app name [shop]: ');
    expect(stderr.text()).toContain('entry file (what ncc bundles) [server.js]: ');
    expect(stderr.text()).toContain('port [4000]: ');
    const config = loadConfig({ cwd: root, env: {} });
    expect(config.app).toMatchObject({ name: 'shop', entry: 'src/other.js', port: 5000 });
    expect(config.environments.local?.health.path).toBe('/ping');
    expect(existsSync(join(root, '.workflow', 'ferry.yml'))).toBe(true);
    expect(await readFile(join(root, '.github', 'workflows', 'ferry.yml'), 'utf8')).toContain(
      'npx ferry deploy production',
    );
    expect(stdout.text()).toContain('FERRY_SSH_KEY');
  });

  it('input that ends early is a usage error, and nothing is written', async () => {
    const root = await project({ 'package.json': '{"main":"a.js"}', 'a.js': APP });
    const stdin = new PassThrough();
    stdin.end('\n');
    const stderr = sink(true);
    const code = await main(['init'], { stdout: sink(true), stderr, env: {}, cwd: root, isTTY: true, stdin });
    expect(code).toBe(ExitCode.Usage);
    expect(stderr.text()).toContain('input ended before ferry init had all its answers');
    expect(existsSync(join(root, 'releases.yaml'))).toBe(false);
  });
});
