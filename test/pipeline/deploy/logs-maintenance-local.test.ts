// `ferry logs` and `ferry maintenance` through the real CLI on 2 local hosts (folders, each with its own
// supervised service): lines of both hosts merged by time and prefixed with the host, --host, --release,
// --lines, --json, bad input refused before any host is asked, -f ended by SIGINT with nothing left
// running; maintenance on/off per environment and per host, in status and in the audit log.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../pipeline/exit-codes';
import { httpGet, REPO } from '../../fixtures/agent-host';
import { ENV_NAME, type LocalEnv, startLocalEnv } from '../../reliability/support/local-env';
import { processesWith } from '../../support/cmdline';

let env: LocalEnv;

/** Makes host i's app print 'fixture <version> <text> 1', and waits until its supervisor wrote it down. */
const say = async (i: number, text: string) => {
  const h = env.hosts[i]!;
  expect((await httpGet(h.port, `/log?text=${text}`))?.body).toBe('1');
  const deadline = Date.now() + 10_000;
  while (!(await readFile(h.paths.serviceLog, 'utf8')).includes(` ${text} 1\n`)) {
    if (Date.now() > deadline) throw new Error(`${h.name} never logged ${text}`);
    await sleep(20);
  }
};
/** The fixture app's lines in `ferry logs` human output: [host, time, release, text]. */
const appLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.includes(' fixture '))
    .map((l) => l.split(/\s{2}/).map((c) => c.trim()));

beforeAll(async () => {
  env = await startLocalEnv({ hosts: 2 });
  for (const v of ['1.0.0', '2.0.0']) await env.publish(v);
  const setup = await env.ferry('setup', ENV_NAME);
  expect(setup.code, setup.stdout + setup.stderr).toBe(0);
  const first = await env.ferry('deploy', ENV_NAME, '--version', '1.0.0');
  expect(first.code, first.stdout + first.stderr).toBe(0);
  // Alternating between the hosts, a few ms apart: the merged output must interleave them in this order.
  for (const [i, text] of [
    [0, 'a'],
    [1, 'b'],
    [0, 'c'],
    [1, 'd'],
  ] as const) {
    await say(i, text);
    await sleep(5);
  }
  const second = await env.ferry('deploy', ENV_NAME, '--version', '2.0.0');
  expect(second.code, second.stdout + second.stderr).toBe(0);
  await say(0, 'e');
  await say(1, 'f');
  await sleep(300);
}, 180_000);

afterAll(async () => {
  await env?.close();
});

describe.sequential('ferry logs on local hosts', () => {
  it('merges both hosts by time, each line prefixed with its host, time and release', async () => {
    const r = await env.ferry('logs', ENV_NAME);
    expect(r.code, r.stderr).toBe(0);
    expect(appLines(r.stdout).map(([host, , release, text]) => [host, release, text])).toEqual([
      ['host1', '1.0.0', 'fixture 1.0.0 a 1'],
      ['host2', '1.0.0', 'fixture 1.0.0 b 1'],
      ['host1', '1.0.0', 'fixture 1.0.0 c 1'],
      ['host2', '1.0.0', 'fixture 1.0.0 d 1'],
      ['host1', '2.0.0', 'fixture 2.0.0 e 1'],
      ['host2', '2.0.0', 'fixture 2.0.0 f 1'],
    ]);
    // Every line, the supervisors' too, in time order across the two hosts.
    const times = r.stdout
      .trim()
      .split('\n')
      .map((l) => Date.parse(l.split(/\s{2}/)[1] as string));
    expect(times.every((t, i) => Number.isFinite(t) && (i === 0 || t >= (times[i - 1] as number)))).toBe(
      true,
    );
    expect(r.stdout).toMatch(
      /^host2 {2}\S+Z {2}- {2}supervisor: generation 2 \(2\.0\.0\) serving, retiring 1\.0\.0$/m,
    );
  });

  it('--host, --release and --lines narrow it; --json prints one object per line', async () => {
    const one = await env.ferry('logs', ENV_NAME, '--host', 'host2');
    expect(appLines(one.stdout).map((l) => l[0])).toEqual(['host2', 'host2', 'host2']);
    const release = await env.ferry('logs', ENV_NAME, '--release', '1.0.0');
    expect(appLines(release.stdout).map((l) => l[3])).toEqual([
      'fixture 1.0.0 a 1',
      'fixture 1.0.0 b 1',
      'fixture 1.0.0 c 1',
      'fixture 1.0.0 d 1',
    ]);
    const last = await env.ferry('logs', ENV_NAME, '--lines', '1');
    expect(
      last.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s{2}/)[3]),
    ).toEqual(['fixture 2.0.0 e 1', 'fixture 2.0.0 f 1']);

    const json = await env.ferry('logs', ENV_NAME, '--release', '2.0.0', '--json');
    expect(json.code, json.stderr).toBe(0);
    const objects = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objects.map((o) => [o.host, o.release, o.stream, o.line])).toEqual([
      ['host1', '2.0.0', 'out', 'fixture 2.0.0 e 1'],
      ['host2', '2.0.0', 'out', 'fixture 2.0.0 f 1'],
    ]);
    for (const o of objects) {
      expect(Object.keys(o).sort()).toEqual(['host', 'line', 'pid', 'release', 'stream', 'time']);
      expect(typeof o.pid).toBe('number');
    }
  });

  it('refuses bad input with exit 2 and a message that says what to write, before asking any host', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--since', 'soon'],
        /--since "soon" is not a duration or a time\nhint: use a duration back from now \(30s, 10m/,
      ],
      [['--host', 'host9'], /no host "host9" in this environment\nhint: use one of: host1, host2/],
      [['--lines', 'many'], /--lines must be a whole number, got "many"/],
      [['--release', '../x'], /--release "\.\.\/x" is not a version/],
      [['--tail'], /unknown option '--tail'/],
    ];
    for (const [args, message] of cases) {
      const r = await env.ferry('logs', ENV_NAME, ...args);
      expect(r.code, args.join(' ')).toBe(ExitCode.Usage);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });

  it('-f prints new lines from both hosts until SIGINT, then exits 0 and leaves no agent running', async () => {
    // From now on: a line printed while the agents still read their backlog is shown once all the same.
    const since = new Date().toISOString();
    const cli = spawn(
      process.execPath,
      [join(REPO, 'bin', 'ferry.js'), '-c', env.configFile, 'logs', ENV_NAME, '-f', '--since', since],
      {
        cwd: env.dir,
        env: { ...process.env, ...env.env } as NodeJS.ProcessEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    cli.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('fixture 2.0.0 follow-2 1\n')) cli.kill('SIGINT');
    });
    cli.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => cli.on('close', (code) => resolve(code)));
    const agents = () =>
      env.hosts.flatMap((h) => processesWith({ args: ['logs', '--follow'], contains: [h.root] }));
    try {
      // Both hosts' agents are following.
      for (let i = 0; i < 300 && agents().length < 2; i++) await sleep(50);
      expect(agents()).toHaveLength(2);
      await say(0, 'follow-1');
      await say(1, 'follow-2');
      const timeout = sleep(30_000).then(() => 'timed out');
      expect(await Promise.race([exited, timeout]), stdout + stderr).toBe(0);
    } finally {
      if (cli.exitCode === null) cli.kill('SIGKILL');
    }
    expect(appLines(stdout).map(([host, , , text]) => `${host} ${text}`)).toEqual([
      'host1 fixture 2.0.0 follow-1 1',
      'host2 fixture 2.0.0 follow-2 1',
    ]);
    expect(agents()).toEqual([]);
  });
});

describe('log rotation settings', () => {
  it('service.logFileMiB and logFiles in releases.yaml reach each host through ferry setup', async () => {
    const yaml = await readFile(env.configFile, 'utf8');
    await writeFile(
      env.configFile,
      yaml.replace('      mode: process\n', '      mode: process\n      logFileMiB: 2\n      logFiles: 3\n'),
    );
    try {
      const setup = await env.ferry('setup', ENV_NAME);
      expect(setup.code, setup.stdout + setup.stderr).toBe(0);
      for (const h of env.hosts) {
        expect(JSON.parse(await readFile(h.paths.serviceConfig, 'utf8'))).toMatchObject({
          logMaxBytes: 2 * 1024 * 1024,
          logFiles: 3,
        });
      }
    } finally {
      await writeFile(env.configFile, yaml);
    }
  });
});

describe.sequential('ferry maintenance on local hosts', () => {
  const status = async (i: number) => (await httpGet(env.hosts[i]!.port, '/files'))?.status;

  it('on: every host answers 503 with the message and Retry-After; health passes; status and history show it', async () => {
    const on = await env.ferry(
      'maintenance',
      ENV_NAME,
      'on',
      '--message',
      'Upgrading storage',
      '--retry-after',
      '2m',
    );
    expect(on.code, on.stdout + on.stderr).toBe(0);
    // The serving worker and the warm standby of the release before it: a rollback during maintenance
    // must not let users in either.
    expect(on.stdout).toMatch(/host1\s+on\s+2 worker\(s\) confirmed/);
    expect(on.stdout).toMatch(/host2\s+on\s+2 worker\(s\) confirmed/);
    for (const h of env.hosts) {
      const r = await new Promise<{ status: number; retry: string | undefined; body: string }>(
        (resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port: h.port, path: '/files', agent: false }, (res) => {
              let body = '';
              res.on('data', (c: Buffer) => {
                body += c.toString();
              });
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, retry: res.headers['retry-after'], body }),
              );
            })
            .on('error', reject);
        },
      );
      expect(r).toEqual({
        status: 503,
        retry: '120',
        body: JSON.stringify({
          error: { code: 'maintenance', message: 'Upgrading storage' },
          retryAfter: 120,
        }),
      });
      expect((await httpGet(h.port, '/healthz'))?.status).toBe(200);
    }

    const human = await env.ferry('status', ENV_NAME);
    expect(human.stdout).toMatch(
      /host1: in maintenance since \S+ by reliability@test \("Upgrading storage"\)\n/,
    );
    expect(human.stdout).toMatch(/host2: in maintenance since/);
    const json = JSON.parse((await env.ferry('status', ENV_NAME, '--json')).stdout) as {
      hosts: { host: string; maintenance: { on: boolean; applied: boolean }; health: { ok: boolean } }[];
    };
    for (const h of json.hosts) {
      expect(h.maintenance).toMatchObject({ on: true, applied: true });
      expect(h.health.ok).toBe(true);
    }
    const audit = JSON.parse((await env.ferry('history', ENV_NAME, '--json')).stdout) as {
      entries: { op: string; result: string; error?: string; hosts?: { host: string; ok: boolean }[] }[];
    };
    expect(audit.entries.at(-1)).toMatchObject({
      op: 'maintenance',
      result: 'note',
      error: 'maintenance on: Upgrading storage (Retry-After 120s)',
      hosts: [
        { host: 'host1', ok: true },
        { host: 'host2', ok: true },
      ],
    });
  });

  it('off on one host, then on all', async () => {
    const one = await env.ferry('maintenance', ENV_NAME, 'off', '--host', 'host1');
    expect(one.code, one.stderr).toBe(0);
    expect([await status(0), await status(1)]).toEqual([404, 503]);
    const all = await env.ferry('maintenance', ENV_NAME, 'off');
    expect(all.code, all.stderr).toBe(0);
    expect([await status(0), await status(1)]).toEqual([404, 404]);
    expect((await env.ferry('status', ENV_NAME)).stdout).not.toContain('in maintenance');
  });

  it('refuses bad input with exit 2, changing nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['sideways'], /maintenance is "on" or "off", not "sideways"/],
      [['on', '--retry-after', '0s'], /--retry-after "0s" is not a duration of at least 1s/],
      [['on', '--message', ''], /--message must be 1 to 500 characters/],
      [['off', '--message', 'x'], /--message and --retry-after go with `on`/],
      [['on', '--host', 'host7'], /no host "host7" in this environment/],
    ];
    for (const [args, message] of cases) {
      const r = await env.ferry('maintenance', ENV_NAME, ...args);
      expect(r.code, args.join(' ')).toBe(ExitCode.Usage);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect([await status(0), await status(1)]).toEqual([404, 404]);
  });
});
