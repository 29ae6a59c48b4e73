// The host-side write behind writeFileArgv (shared/.env with AUTH_SECRET, pull.json) against a second,
// unprivileged local user who opens the temp file while `cat` is still writing it. Needs root, to act as
// that other user (uid 65534, "nobody").
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeFileArgv } from '../../pipeline/commands/files';
import { describeIf, requireRoot } from '../support/require-tool';
import { recorded } from './support/record';

const NOBODY = 65534;

describeIf(requireRoot('reads the file as another, unprivileged user'), 'secret files on a host', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-secret-'));
    // A host's shared/ folder is traversable by other users (the service user, log readers…).
    await chmod(dir, 0o755);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'the temp file is 0600 from its first byte',
    recorded(
      {
        suite: 'secret-files',
        case: 'another local user opens shared/.env.tmp-* while it is being written',
        proves:
          'the write script creates its temp file 0600 (umask 077): the other user is refused before the chmod, and the final file is 0600',
      },
      async (note) => {
        const file = path.join(dir, '.env');
        const [cmd, ...args] = writeFileArgv(file, 0o600);
        const writer = spawn(cmd!, args, { stdio: ['pipe', 'ignore', 'pipe'] });
        const exited = new Promise<number | null>((r) => writer.on('exit', r));
        writer.stdin.write('AUTH_SECRET=first-half-of-the-secret');
        let temp: string | undefined;
        for (let i = 0; i < 200 && !temp; i++) {
          temp = (await readdir(dir)).find((f) => f.startsWith('.env.tmp-'));
          if (!temp) await new Promise((r) => setTimeout(r, 10));
        }
        expect(temp).toBeDefined();
        const tempPath = path.join(dir, temp!);
        const tempMode = (await stat(tempPath)).mode & 0o777;
        const peek = spawnSync('cat', [tempPath], { uid: NOBODY, gid: NOBODY, encoding: 'utf8' });
        writer.stdin.end('-second-half\n');
        expect(await exited).toBe(0);

        expect(tempMode).toBe(0o600);
        expect(peek.status).not.toBe(0);
        expect(peek.stderr).toMatch(/Permission denied/);
        expect(peek.stdout).not.toContain('secret');
        expect(await readFile(file, 'utf8')).toBe('AUTH_SECRET=first-half-of-the-secret-second-half\n');
        expect((await stat(file)).mode & 0o777).toBe(0o600);
        const after = spawnSync('cat', [file], { uid: NOBODY, gid: NOBODY, encoding: 'utf8' });
        expect(after.status).not.toBe(0);
        note(
          `temp file mode ${tempMode.toString(8)} mid-write; uid ${NOBODY} reading it: Permission denied; final 600`,
        );
      },
    ),
  );
});
