import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellJoin } from '../../../pipeline/commands/shell';
import { LocalTransport } from '../../../pipeline/transport/local';
import { SshTransport } from '../../../pipeline/transport/ssh';
import type { Transport } from '../../../pipeline/transport/types';
import { processesWith } from '../../support/cmdline';
import { describeIf, requireRoot, requireTool } from '../../support/require-tool';
import { type Fleet, startFleet } from '../../support/ssh-fleet';

// Arguments that break naive quoting: spaces, quotes, globs, $ expansions, newlines, and a leading dash.
const nasty = ["it's", 'a b', '$(touch /tmp/ferry-pwned)', '*', '"q"', 'line1\nline2', '-n', ''];

function behavesLikeAHost(
  make: () => Promise<{ t: Transport; root: string }>,
  /** Local children can be SIGKILLed; over SSH a command that ignores SIGTERM and stdin is out of reach. */
  opts: { killsStubborn: boolean },
) {
  let t: Transport;
  let root: string;
  beforeAll(async () => {
    ({ t, root } = await make());
  });
  afterAll(async () => {
    await t?.close();
  });

  it('passes every argv element through unchanged, with no shell expansion', async () => {
    const res = await t.exec([
      'node',
      '-e',
      'process.stdout.write(JSON.stringify(process.argv.slice(1)))',
      ...nasty,
    ]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual(nasty);
  });

  it('streams stdout lines and feeds stdin', async () => {
    const lines: string[] = [];
    const res = await t.exec(['sh', '-c', 'while read l; do echo "got:$l"; done; exit 3'], {
      stdin: 'one\ntwo\n',
      onStdoutLine: (l) => lines.push(l),
    });
    expect(res.code).toBe(3);
    expect(lines).toEqual(['got:one', 'got:two']);
  });

  it('writes files atomically with the mode asked, binary-safe', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 10, 13, 0x27]);
    const path = join(root, 'deep', 'dir', 'file.bin');
    await t.writeFile(path, bytes, 0o600);
    expect((await readFile(path)).equals(bytes)).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await t.writeFile(path, 'replaced');
    expect(await readFile(path, 'utf8')).toBe('replaced');
  });

  it('times out a command that hangs', async () => {
    const res = await t.exec(['sleep', '5'], { timeoutMs: 300 });
    expect(res.code).toBe(124);
  });

  it('streams a long-running command line by line; aborting closes its stdin and it ends by itself', async () => {
    const abort = new AbortController();
    const lines: string[] = [];
    // Prints a line, then echoes stdin until it closes, then says so: exit 7 proves it ended on its own
    // (it ignores the SIGTERM the SSH transport also sends).
    const run = t.stream(
      [
        'sh',
        '-c',
        'trap "" TERM; echo ready; while read l; do echo "got:$l"; done; echo "stdin closed"; exit 7',
      ],
      {
        signal: abort.signal,
        onStdoutLine: (l) => {
          lines.push(l);
          if (l === 'ready') abort.abort();
        },
      },
    );
    expect(await run).toEqual({ code: 7, stderr: '' });
    expect(lines).toEqual(['ready', 'stdin closed']);
  });

  it('ends a streamed command that ignores its stdin closing', async () => {
    const abort = new AbortController();
    // A fractional duration no other process uses is the marker to find it by.
    const marker = `30.${String(Math.random()).slice(2, 10)}`;
    const run = t.stream(['sh', '-c', `exec sleep ${marker}`], {
      signal: abort.signal,
      graceMs: 500,
      onStdoutLine: () => {},
    });
    // Aborted once the command really runs, so its absence afterwards means something.
    for (let i = 0; i < 100 && processesWith({ args: ['sleep', marker] }).length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(processesWith({ args: ['sleep', marker] })).toHaveLength(1);
    abort.abort();
    expect((await run).code).not.toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(processesWith({ args: ['sleep', marker] })).toEqual([]);
  });

  it('does not hang on a command that ignores both its stdin and SIGTERM', async () => {
    const abort = new AbortController();
    const marker = `3.${String(Math.random()).slice(2, 10)}`;
    const run = t.stream(['sh', '-c', `trap '' TERM; exec sleep ${marker}`], {
      signal: abort.signal,
      graceMs: 300,
      onStdoutLine: () => {},
    });
    for (let i = 0; i < 100 && processesWith({ args: ['sleep', marker] }).length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    abort.abort();
    const done = await run;
    expect(done.code).not.toBe(0);
    if (opts.killsStubborn) {
      await new Promise((r) => setTimeout(r, 300));
      expect(processesWith({ args: ['sleep', marker] })).toEqual([]);
    } else {
      // Said, not hidden: the operator learns something may be left on the host.
      expect(done.stderr).toMatch(/did not end within 300 ms of being told to; it may still run on/);
    }
  });
}

describe('shellJoin', () => {
  it('quotes exactly', () => {
    expect(shellJoin(['node', 'a b', "it's", '', 'x=1', '$HOME'])).toBe(
      `node 'a b' 'it'\\''s' '' x=1 '$HOME'`,
    );
    expect(() => shellJoin(['a\0b'])).toThrow(/NUL/);
  });
});

describe('local transport', () => {
  let dir: string;
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  behavesLikeAHost(
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'ferry-local-t-'));
      return { t: new LocalTransport('local1'), root: dir };
    },
    { killsStubborn: true },
  );
});

describeIf(
  [requireTool('/usr/sbin/sshd', 'openssh-server'), requireRoot('creates the fleet user')],
  'ssh transport',
  () => {
    let fleet: Fleet;
    beforeAll(async () => {
      fleet = await startFleet({ count: 1 });
    });
    afterAll(async () => {
      await fleet?.stop();
    });

    describe('against a real sshd', () => {
      behavesLikeAHost(
        async () => {
          const h = fleet.hosts[0]!;
          const t = await SshTransport.connect({ ...h, hostKeyFingerprint: h.hostKeyFingerprint });
          return { t, root: h.root };
        },
        { killsStubborn: false },
      );
    });

    it('refuses a host whose key does not match', async () => {
      const h = fleet.hosts[0]!;
      await expect(
        SshTransport.connect({
          ...h,
          hostKeyFingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        }),
      ).rejects.toThrow(/host key does not match/);
    });
  },
);
