import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellJoin } from '../../../pipeline/commands/shell';
import { LocalTransport } from '../../../pipeline/transport/local';
import { SshTransport } from '../../../pipeline/transport/ssh';
import type { Transport } from '../../../pipeline/transport/types';
import { describeIf, requireRoot, requireTool } from '../../support/require-tool';
import { type Fleet, startFleet } from '../../support/ssh-fleet';

// Arguments that break naive quoting: spaces, quotes, globs, $ expansions, newlines, and a leading dash.
const nasty = ["it's", 'a b', '$(touch /tmp/ferry-pwned)', '*', '"q"', 'line1\nline2', '-n', ''];

function behavesLikeAHost(make: () => Promise<{ t: Transport; root: string }>) {
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
  behavesLikeAHost(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-local-t-'));
    return { t: new LocalTransport('local1'), root: dir };
  });
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
      behavesLikeAHost(async () => {
        const h = fleet.hosts[0]!;
        const t = await SshTransport.connect({ ...h, hostKeyFingerprint: h.hostKeyFingerprint });
        return { t, root: h.root };
      });
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
