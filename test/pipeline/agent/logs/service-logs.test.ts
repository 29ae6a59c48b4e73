// `agent logs` against a real supervisor in process mode: every line marked with its release and pid,
// --release/--lines/--since, service.log rotated by the supervisor itself under a small bound, and a
// follow that reads across rotations, loses nothing, and ends when its stdin closes.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../../pipeline/exit-codes';
import {
  type AgentJson,
  deployArgs,
  destroyHost,
  httpGet,
  makeHost,
  REPO,
  runAgent,
  type TestHost,
} from '../../../fixtures/agent-host';
import { type RegistryServer, startRegistryServer } from '../../../fixtures/registry-server';
import { newSigningKey, publishFakeApp } from '../../../fixtures/releases';

const MAX_BYTES = 64 * 1024;
const FILES = 2;

let regDir: string;
let reg: RegistryServer;
let host: TestHost;
const workerPids: Record<string, number[]> = {};

const sup = async () =>
  JSON.parse(await readFile(host.paths.supervisorState, 'utf8')) as {
    workers: { pid: number; state: string }[];
  };

/** Makes the app print: n lines 'fixture <version> <text> <i>' on stdout (or stderr). */
async function print(text: string, n = 1, stream: 'out' | 'err' = 'out') {
  const r = await httpGet(host.port, `/log?n=${n}&text=${text}${stream === 'err' ? '&stream=err' : ''}`);
  expect(r?.body).toBe(String(n));
}

const logs = async (...flags: string[]) => {
  const run = await runAgent(['logs', '--root', host.root, ...flags]);
  const records = run.events.filter((e) => e.event === 'log') as AgentJson[];
  return { run, records, lines: records.map((r) => r.line as string) };
};

/** Waits until `agent logs` shows a line (the supervisor writes once per turn of its event loop). */
async function until(line: string) {
  const deadline = Date.now() + 10_000;
  while (!(await logs('--lines', '100000')).lines.includes(line)) {
    if (Date.now() > deadline) throw new Error(`agent logs never showed "${line}"`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  const key = newSigningKey();
  regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
  reg = await startRegistryServer(regDir);
  host = await makeHost(key.publicKey, { workers: 2, logMaxBytes: MAX_BYTES, logFiles: FILES });
  for (const v of ['1.0.0', '2.0.0']) {
    const run = await runAgent(deployArgs(host, reg, await publishFakeApp(regDir, key, v)));
    expect(run.result?.ok, run.stderr).toBe(true);
    workerPids[v] = (await sup()).workers.filter((w) => w.state === 'listening').map((w) => w.pid);
    // Two requests: with round-robin over two workers, both print.
    await print('hello');
    await print('hello', 1, 'err');
  }
  await until('fixture 2.0.0 hello 1');
}, 60_000);

afterAll(async () => {
  await destroyHost(host);
  await reg.close();
  await rm(regDir, { recursive: true, force: true });
});

describe.sequential('agent logs in process mode', () => {
  it("marks every line with its release, its worker's pid and stream; the supervisor's own lines too", async () => {
    const { run, records } = await logs();
    expect(run.code, run.stderr).toBe(0);
    expect(run.result).toMatchObject({ ok: true, op: 'logs', mode: 'process', count: records.length });
    const app = records.filter((r) => String(r.line).startsWith('fixture '));
    expect(app.map((r) => [r.line, r.release, r.stream])).toEqual([
      ['fixture 1.0.0 hello 1', '1.0.0', 'out'],
      ['fixture 1.0.0 hello 1', '1.0.0', 'err'],
      ['fixture 2.0.0 hello 1', '2.0.0', 'out'],
      ['fixture 2.0.0 hello 1', '2.0.0', 'err'],
    ]);
    for (const r of app) expect(workerPids[r.release as string]).toContain(r.pid);
    const own = records.filter((r) => r.stream === 'sup');
    expect(own.map((r) => r.line)).toContain('supervisor: generation 2 (2.0.0) serving, retiring 1.0.0');
    for (const r of own) expect(r.release).toBeNull();
    const times = records.map((r) => Date.parse(r.time as string));
    expect(times.every((t, i) => i === 0 || t >= (times[i - 1] as number))).toBe(true);
  });

  it('--release picks one release, --lines the newest N, --since a window', async () => {
    expect((await logs('--release', '1.0.0')).lines).toEqual([
      'fixture 1.0.0 hello 1',
      'fixture 1.0.0 hello 1',
    ]);
    expect((await logs('--release', '9.9.9')).lines).toEqual([]);
    const all = (await logs()).lines;
    expect((await logs('--lines', '2')).lines).toEqual(all.slice(-2));
    expect((await logs('--lines', '0')).lines).toEqual([]);
    expect((await logs('--since', '1h')).lines).toEqual(all);
    expect((await logs('--since', new Date(Date.now() + 60_000).toISOString())).lines).toEqual([]);
  });

  it('refuses a bad --since or --lines with a usage error naming the fix', async () => {
    const since = await logs('--since', 'yesterday');
    expect(since.run.code).toBe(ExitCode.Usage);
    expect(since.run.result?.error).toMatchObject({
      code: 'usage',
      message: '--since "yesterday" is not a duration or a time',
    });
    expect(since.run.result?.error.remedy).toContain('10m');
    const lines = await logs('--lines', '-3');
    expect(lines.run.code).toBe(ExitCode.Usage);
  });

  it('the supervisor rotates service.log at logMaxBytes, keeps logFiles files, and drops no line in them', async () => {
    await print('bulk', 3000);
    await until('fixture 2.0.0 bulk 3000');
    expect((await readdir(host.paths.logs)).sort()).toEqual([
      'service.log',
      'service.log.1',
      'service.log.2',
      'supervisor.out',
    ]);
    for (const f of ['service.log', 'service.log.1', 'service.log.2'])
      expect((await stat(join(host.paths.logs, f))).size).toBeLessThanOrEqual(MAX_BYTES);
    // What is left of the bulk is one unbroken run ending with its last line.
    const bulk = (await logs('--lines', '100000')).lines.filter((l) => l.startsWith('fixture 2.0.0 bulk '));
    expect(bulk.length).toBeGreaterThan(1000);
    const first = Number(bulk[0]?.split(' ').at(-1));
    expect(bulk).toEqual(Array.from({ length: bulk.length }, (_, i) => `fixture 2.0.0 bulk ${first + i}`));
    expect(bulk.at(-1)).toBe('fixture 2.0.0 bulk 3000');
  });

  it('--follow reads across rotations, each line once, and stops when its stdin closes', async () => {
    const tsx = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
    const child = spawn(
      process.execPath,
      [
        '--import',
        tsx,
        join(REPO, 'pipeline', 'agent', 'main.ts'),
        'logs',
        '--root',
        host.root,
        '--follow',
        '--lines',
        '0',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const events: AgentJson[] = [];
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) events.push(JSON.parse(p) as AgentJson);
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await expect.poll(() => events.some((e) => e.event === 'caught-up'), { timeout: 15_000 }).toBe(true);
      expect(events.filter((e) => e.event === 'log')).toEqual([]);
      await print('tail', 3000);
      const tail = () =>
        events
          .filter((e) => e.event === 'log' && String(e.line).startsWith('fixture 2.0.0 tail '))
          .map((e) => e.line);
      await expect.poll(() => tail().length, { timeout: 15_000 }).toBe(3000);
      expect(tail()).toEqual(Array.from({ length: 3000 }, (_, i) => `fixture 2.0.0 tail ${i + 1}`));
      // 3000 lines are ~170 KiB: the follow crossed at least two rotations.
      child.stdin.end();
      expect(await exited).toBe(0);
      expect(events.at(-1)).toMatchObject({
        event: 'result',
        ok: true,
        follow: true,
        stopped: 'stdin closed',
      });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
