// Ferry from an installed package, as a user gets it: `npm pack` this repository (which runs whatever
// `prepare` builds), `npm install --save-dev` the tarball into an empty project with a tiny app, then
// `npx ferry init --yes`, publish, setup, deploy to the two local hosts init wrote, and the app answers.
// A plain JavaScript app and a TypeScript one (whose package.json points at a dist/ it never built; it
// hard-links the node_modules the first install made).
// npm install fetches the package's dependencies (an install step, like `npm ci`, from npm's cache when it
// has them); everything the test itself sends goes to the app on 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../pipeline/exit-codes';
import { httpGet, REPO } from '../../fixtures/agent-host';
import { TEST_FERRY_CACHE_DIR } from '../../support/node-runtimes';

const INSTALL_MS = 300_000;
const STEP_MS = 180_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion with output captured; FERRY_* and CI-secret variables are not passed on. */
function run(cmd: string, args: string[], cwd: string, timeoutMs = STEP_MS): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, FERRY_CACHE_DIR: TEST_FERRY_CACHE_DIR, NO_COLOR: '1' };
  for (const k of Object.keys(env)) {
    if (k.startsWith('FERRY_') && k !== 'FERRY_CACHE_DIR') delete env[k];
    if (k.startsWith('OSS_')) delete env[k];
  }
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// `--`: without it npx would take the command's own flags (--version) as its own.
const ferry = (cwd: string, ...args: string[]) => run('npx', ['--no', '--', 'ferry', ...args], cwd);
const show = (r: Run) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

const dirs: string[] = [];
const projects: string[] = [];
let tarball = '';

beforeAll(async () => {
  const out = await mkdtemp(join(tmpdir(), 'ferry-pack-'));
  dirs.push(out);
  const packed = await run('npm', ['pack', '--pack-destination', out, '--json'], REPO, INSTALL_MS);
  expect(packed.code, show(packed)).toBe(0);
  const [info] = JSON.parse(packed.stdout) as { filename: string }[];
  tarball = join(out, (info as { filename: string }).filename);
}, INSTALL_MS);

afterAll(async () => {
  // Stop every supervisor the deploys started, by its pidfile (the agent's `service stop` does that).
  for (const root of projects) {
    const hostsDir = join(root, '.ferry', 'hosts');
    if (!existsSync(hostsDir)) continue;
    for (const host of await readdir(hostsDir)) {
      const hostRoot = join(hostsDir, host);
      const agent = join(hostRoot, '.ferry', 'agent', 'index.js');
      if (existsSync(agent))
        await run(process.execPath, [agent, 'service', 'stop', '--root', hostRoot], root);
      const pidFile = join(hostRoot, '.ferry', 'supervisor.pid');
      if (existsSync(pidFile)) {
        const pid = Number((await readFile(pidFile, 'utf8')).trim());
        if (pid > 0) spawnSync('kill', ['-KILL', String(pid)]);
      }
    }
  }
  for (const d of [...projects, ...dirs]) await rm(d, { recursive: true, force: true });
}, STEP_MS);

/**
 * A project with the tarball installed. `reuse`: hard-link the node_modules another project's npm
 * install made instead of installing again (the install itself is proven once; this saves its time).
 */
async function newProject(files: Record<string, string>, reuse?: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'ferry-user-project-'));
  projects.push(root);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
  if (reuse) {
    const copied = await run('cp', ['-al', join(reuse, 'node_modules'), join(root, 'node_modules')], root);
    expect(copied.code, show(copied)).toBe(0);
    return root;
  }
  const installed = await run(
    'npm',
    ['install', '--save-dev', '--no-audit', '--no-fund', '--prefer-offline', tarball],
    root,
    INSTALL_MS,
  );
  expect(installed.code, show(installed)).toBe(0);
  return root;
}

/** The last lines of each local host's service log: why a supervisor or the app died, in a failure. */
async function hostLogs(root: string): Promise<string> {
  const hostsDir = join(root, '.ferry', 'hosts');
  if (!existsSync(hostsDir)) return '';
  const parts: string[] = [];
  for (const host of await readdir(hostsDir)) {
    const log = join(hostsDir, host, '.ferry', 'logs', 'service.log');
    if (existsSync(log))
      parts.push(
        `--- ${host} service.log\n${(await readFile(log, 'utf8')).split('\n').slice(-30).join('\n')}`,
      );
  }
  return parts.join('\n');
}

/** publish / setup / deploy in order; a failure names the command, its output and the hosts' logs. */
async function ship(root: string, steps: string[][]): Promise<void> {
  for (const args of steps) {
    const r = await ferry(root, ...args);
    if (r.code !== ExitCode.Ok) {
      expect.fail(`ferry ${args.join(' ')}: ${show(r)}\n${await hostLogs(root)}`);
    }
  }
}

/** The two local hosts' app ports, from the releases.yaml init wrote. */
async function hostPorts(root: string): Promise<number[]> {
  const text = await readFile(join(root, 'releases.yaml'), 'utf8');
  return [...text.matchAll(/appPort: (\d+)/g)].map((m) => Number(m[1]));
}

const JS_APP = (greeting: string) => `const http = require('node:http');
const port = Number(process.env.PORT) || 8080;
http
  .createServer((req, res) => {
    if (req.url === '/healthz') return res.end('ok');
    res.end('${greeting} from ' + process.env.FERRY_RELEASE + '\\n');
  })
  .listen(port, process.env.HOST);
`;

describe('the packed tarball', () => {
  it('holds what the CLI and the agent need at run time, and nothing private or repo-only', () => {
    const list = spawnSync('tar', ['tzf', tarball], { encoding: 'utf8' }).stdout.split('\n');
    for (const f of [
      'package/package.json',
      'package/bin/ferry.js',
      'package/pipeline/cli/main.ts',
      'package/pipeline/agent/main.ts',
      'package/pipeline/agent/service/worker-preload.cjs',
      'package/releases.schema.json',
      'package/tsconfig.json',
      'package/docs/init.md',
    ]) {
      expect(list, f).toContain(f);
    }
    const unwanted = list.filter((f) =>
      /^package\/(releases\.yaml|test\/|scripts\/|bench\/|\.ferry\/|\.cache\/|node_modules\/)|\.pem$|\.env$/.test(
        f,
      ),
    );
    expect(unwanted).toEqual([]);
  });
});

let jsRoot = '';

describe('ferry init, publish, setup, deploy in an empty JavaScript project', () => {
  let root = '';
  beforeAll(async () => {
    root = await newProject({
      'package.json': JSON.stringify(
        { name: 'hello-web', version: '1.0.0', private: true, scripts: { start: 'node server.js' } },
        null,
        2,
      ),
      'server.js': JS_APP('hello'),
    });
    jsRoot = root;
  }, INSTALL_MS);

  it('before init, ferry runs from node_modules and says to run ferry init (no fallback config)', async () => {
    const version = await ferry(root, '--version');
    expect(version.stdout.trim()).toBe(
      JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')).version,
    );
    const releases = await ferry(root, 'releases');
    expect(releases.code, show(releases)).toBe(ExitCode.Config);
    expect(releases.stderr).toContain('no releases.yaml found');
    expect(releases.stderr).toContain('npx ferry init');
  });

  it('init --yes detects the app and points editors at the installed schema', async () => {
    const r = await ferry(root, 'init', '--yes', '--json');
    expect(r.code, show(r)).toBe(ExitCode.Ok);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'hello-web', entry: 'server.js', port: 8080 });
    const first = (await readFile(join(root, 'releases.yaml'), 'utf8')).split('\n')[0];
    expect(first).toBe('# yaml-language-server: $schema=./node_modules/ferry/releases.schema.json');
    expect(existsSync(join(root, 'node_modules', 'ferry', 'releases.schema.json'))).toBe(true);
    expect(existsSync(join(root, '.github', 'workflows', 'ferry.yml'))).toBe(true);
  });

  it(
    'publish, setup local, deploy local: both hosts serve the app',
    async () => {
      await ship(root, [['publish'], ['setup', 'local'], ['deploy', 'local']]);
      const ports = await hostPorts(root);
      expect(ports).toHaveLength(2);
      for (const port of ports) {
        expect(await httpGet(port, '/')).toEqual({ status: 200, body: 'hello from 1.0.0\n' });
      }
    },
    STEP_MS * 2,
  );

  it(
    'a second release deploys over the first through the health-only gate',
    async () => {
      await writeFile(join(root, 'server.js'), JS_APP('hello again'));
      const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
      await writeFile(join(root, 'package.json'), JSON.stringify({ ...pkg, version: '1.1.0' }, null, 2));
      await ship(root, [['publish'], ['deploy', 'local']]);
      for (const port of await hostPorts(root)) {
        expect(await httpGet(port, '/')).toEqual({ status: 200, body: 'hello again from 1.1.0\n' });
      }
      const status = await ferry(root, 'status', 'local', '--json');
      expect(status.code, show(status)).toBe(ExitCode.Ok);
      expect(status.stdout).toContain('"versionFrom": "supervisor"');
    },
    STEP_MS * 2,
  );
});

describe('the same in a TypeScript project whose main is an unbuilt dist/', () => {
  let root = '';
  beforeAll(async () => {
    root = await newProject(
      {
        'package.json': JSON.stringify(
          { name: '@acme/orders', version: '2.0.0', private: true, main: 'dist/server.js' },
          null,
          2,
        ),
        'tsconfig.json': JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'commonjs',
            strict: true,
            rootDir: 'src',
            outDir: 'dist',
          },
        }),
        'src/server.ts': `import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
const port: number = Number(process.env.PORT ?? 7000);
function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/health') { res.end('ok'); return; }
  res.end(\`orders \${process.env.FERRY_RELEASE}\\n\`);
}
createServer(handle).listen(port, process.env.HOST);
`,
      },
      jsRoot || undefined,
    );
  }, INSTALL_MS);

  it(
    'init finds src/server.ts and /health; the release is built from the source and served',
    async () => {
      const init = await ferry(root, 'init', '--yes', '--ci', 'none', '--json');
      expect(init.code, show(init)).toBe(ExitCode.Ok);
      expect(JSON.parse(init.stdout)).toMatchObject({
        name: 'orders',
        entry: 'src/server.ts',
        port: 7000,
        healthPath: '/health',
      });
      await ship(root, [['publish'], ['setup', 'local'], ['deploy', 'local']]);
      for (const port of await hostPorts(root)) {
        expect(await httpGet(port, '/')).toEqual({ status: 200, body: 'orders 2.0.0\n' });
      }
    },
    STEP_MS * 2,
  );
});
