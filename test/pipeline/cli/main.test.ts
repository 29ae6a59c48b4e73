import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../pipeline/cli/main';
import { PACKAGE_ROOT } from '../../../pipeline/config/load';
import { ferry } from './run';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const version = (
  JSON.parse(spawnSync('cat', [resolve(PACKAGE_ROOT, 'package.json')]).stdout.toString()) as {
    version: string;
  }
).version;

describe('ferry main()', () => {
  it('--help lists the commands and exit codes', async () => {
    const r = await ferry(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['build', 'publish', 'releases', 'keygen', 'verify', 'token'])
      expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.stdout).toContain('exit codes: 0 ok, 1 failure, 2 usage, 3 config');
  });

  it('with no command prints the help as a usage error', async () => {
    const r = await ferry([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('usage: ferry <command> [options]');
  });

  it('--version prints the package version', async () => {
    expect((await ferry(['--version'])).stdout).toBe(`${version}\n`);
  });

  it('each command has its own help, via --help or `help`', async () => {
    const a = await ferry(['build', '--help']);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^usage: ferry build \[--version V\] \[--out DIR\]/);
    expect((await ferry(['help', 'publish'])).stdout).toMatch(/^usage: ferry publish/);
  });

  it('an unknown command exits 2 with a suggestion', async () => {
    const r = await ferry(['biuld']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'error: unknown command "biuld"\nhint: did you mean `ferry build`? Run `ferry --help` for the list\n',
    );
  });

  it('an unknown flag exits 2 with the usage line', async () => {
    const r = await ferry(['build', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: unknown option '--bogus'\nhint: usage: ferry build [--version V] [--out DIR] [--no-cache]\n",
    );
    expect((await ferry(['releases', 'extra'])).code).toBe(2);
    expect((await ferry(['build', '--version'])).stderr).toMatch(/argument missing/);
  });

  it('a bad config exits 3 naming each key, and --json reports it on stdout', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'app:\n  name: x\n  entry: a.ts\n  port: high\nregistry:\n  type: ftp\n');
    const r = await ferry(['releases', '-c', file, '--json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('  app.port: must be a whole number (line 4)\n');
    expect(r.stderr).toContain('  registry.type: must be one of: local, oss (line 6)\n');
    expect(r.stderr).toMatch(/^hint: /m);
    expect(r.json()).toMatchObject({ ok: false, error: { type: 'ConfigError', exitCode: 3 } });
  });

  it('a missing config file exits 3', async () => {
    const r = await ferry(['-c', join(dir, 'nope.yaml'), 'releases']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: config file not found: .*nope\.yaml\n/);
  });

  it('colours only for a terminal, and never with NO_COLOR', async () => {
    const tty = await ferry(['biuld'], { isTTY: true });
    expect(tty.stderr).toContain('\x1b[31merror:\x1b[39m');
    const noColor = await ferry(['biuld'], { isTTY: true, env: { NO_COLOR: '1' } });
    expect(noColor.stderr.startsWith('error:')).toBe(true);
  });

  it('prints a stack for unexpected errors and exits 1', async () => {
    let err = '';
    const code = await main(['--help'], {
      stdout: {
        write: () => {
          throw new TypeError('stdout is broken');
        },
      },
      stderr: { write: (s: string) => (err += s) },
      env: {},
      cwd: dir,
      isTTY: false,
    });
    expect(code).toBe(1);
    expect(err).toMatch(
      /^error: unexpected failure \(a bug in ferry; please report it\)\nTypeError: stdout is broken\n\s+at /,
    );
  });
});

describe('the ferry bin', () => {
  it('works through node_modules/.bin/ferry from another directory', async () => {
    // An installed copy: node_modules/.bin/ferry is a symlink to the package's bin/ferry.js.
    const project = join(dir, 'consumer');
    await mkdir(join(project, 'node_modules/.bin'), { recursive: true });
    const bin = join(project, 'node_modules/.bin/ferry');
    await symlink(resolve(PACKAGE_ROOT, 'bin/ferry.js'), bin);
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere);
    const run = (...args: string[]) =>
      spawnSync(bin, args, {
        cwd: elsewhere,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: dir },
      });
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: ferry <command> [options]');
    expect(run('--version').stdout).toBe(`${version}\n`);
    const bad = run('build', '--nope');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("error: unknown option '--nope'");
  });
});
