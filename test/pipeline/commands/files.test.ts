import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileArgv } from '../../../pipeline/commands/files';

describe('writeFileArgv', () => {
  it('builds one sh -c script, the path and mode as positional arguments', () => {
    expect(writeFileArgv('/srv/app/shared/.env', 0o600)).toEqual([
      'sh',
      '-c',
      'set -e; d=$(dirname -- "$1"); mkdir -p -- "$d"; umask 077; t="$1.tmp-$$"; ' +
        'trap \'rm -f -- "$t"\' EXIT; cat > "$t"; chmod "$2" "$t"; mv -f -- "$t" "$1"; trap - EXIT',
      'ferry-write',
      '/srv/app/shared/.env',
      '0600',
    ]);
    expect(writeFileArgv('/x', 0o644).at(-1)).toBe('0644');
  });

  describe('run by a real shell', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-write-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    const write = (file: string, mode: number, content: string) => {
      const [cmd, ...args] = writeFileArgv(file, mode);
      execFileSync(cmd!, args, { input: content });
    };

    it('writes the content with the mode asked for, creating folders, leaving no temp file', async () => {
      const file = path.join(dir, 'a b', "it's", '.env');
      write(file, 0o600, 'AUTH_SECRET=x\n');
      expect(await readFile(file, 'utf8')).toBe('AUTH_SECRET=x\n');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      // The umask is for the temp file only: folders get the usual permissions, and a wider mode asked
      // for is applied once the file is complete.
      expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o755 & ~process.umask());
      write(path.join(dir, 'pub.json'), 0o644, '{}');
      expect((await stat(path.join(dir, 'pub.json'))).mode & 0o777).toBe(0o644);
      expect(execFileSync('find', [dir, '-name', '*.tmp-*'], { encoding: 'utf8' })).toBe('');
    });
  });
});
