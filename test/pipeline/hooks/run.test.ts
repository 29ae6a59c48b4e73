// runHook on real processes: exit codes, output kept bounded and redacted, a timeout that kills the whole
// process group, a command that cannot start, and a hook that leaves a child holding its pipes.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../../pipeline/agent/host/proc';
import { hookArgv } from '../../../pipeline/commands/hooks';
import { HOOK_OUTPUT_LINES, runHook } from '../../../pipeline/hooks/run';

let dir: string;
const run = (command: string, timeoutSec = 30, secrets: string[] = []) =>
  runHook({
    phase: 'afterDeploy',
    run: command,
    argv: hookArgv(command),
    cwd: dir,
    env: { PATH: process.env.PATH },
    timeoutSec,
    secrets,
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-hook-run-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runHook', () => {
  it('runs in its cwd and keeps the lines of stdout and stderr whole', async () => {
    const r = await run('pwd; echo out; printf "err " >&2; printf "no newline"; echo "line" >&2');
    expect(r).toMatchObject({ phase: 'afterDeploy', ok: true, exitCode: 0, signal: null, timedOut: false });
    // Two pipes: lines keep their order within each, not across them.
    expect(r.output.filter((l) => l !== 'err line')).toEqual([dir, 'out', 'no newline']);
    expect(r.output).toContain('err line');
  });

  it('reports a non-zero exit as a failure', async () => {
    const r = await run('echo nope; exit 7');
    expect(r).toMatchObject({ ok: false, exitCode: 7, timedOut: false, output: ['nope'] });
  });

  it(`keeps only the last ${HOOK_OUTPUT_LINES} lines, with secrets redacted`, async () => {
    const r = await run(
      'i=0; while [ $i -lt 500 ]; do echo "line $i token=s3cr3t-value"; i=$((i+1)); done',
      30,
      [
        's3cr3t-value',
        'no', // too short to redact: ordinary words would vanish
      ],
    );
    expect(r.ok).toBe(true);
    expect(r.output).toHaveLength(HOOK_OUTPUT_LINES);
    expect(r.output.at(-1)).toBe('line 499 token=[redacted]');
    expect(r.output[0]).toBe(`line ${500 - HOOK_OUTPUT_LINES} token=[redacted]`);
  });

  it('kills the whole process group at the timeout', async () => {
    const r = await run(`sleep 60 & echo $! > ${dir}/child.pid; echo started; wait`, 1);
    expect(r).toMatchObject({ ok: false, timedOut: true, output: ['started'] });
    expect(isProcessAlive(Number(await readFile(join(dir, 'child.pid'), 'utf8')))).toBe(false);
  });

  it('does not wait for a background child that keeps its pipes open after the shell exits', async () => {
    const r = await run(`sleep 30 & echo $! > ${dir}/bg.pid; echo bye`, 60);
    expect(r).toMatchObject({ ok: true, exitCode: 0, output: ['bye'] });
    const bg = Number(await readFile(join(dir, 'bg.pid'), 'utf8'));
    process.kill(bg, 'SIGKILL');
  });

  it('reports a hook that cannot start', async () => {
    const r = await runHook({
      phase: 'afterDeploy',
      run: 'x',
      argv: hookArgv('x'),
      cwd: join(dir, 'missing'),
      env: {},
      timeoutSec: 5,
    });
    expect(r).toMatchObject({ ok: false, exitCode: null, signal: null, timedOut: false });
    expect(r.output[0]).toMatch(/afterDeploy hook could not start: .*ENOENT/);
  });
});
