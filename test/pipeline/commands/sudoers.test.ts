// The sudo rule for systemd mode: exactly the install and systemctl commands setup runs, for exactly the
// Ferry units, and sudo's own parser accepts it. (That it allows those and refuses others is proven on a
// real systemd host in test/pipeline/deploy/systemd-story.test.ts.)
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { sudoersFileName, sudoersRule } from '../../../pipeline/commands/sudoers';
import { systemctlArgv } from '../../../pipeline/commands/systemd';
import { describeIfTool } from '../../support/require-tool';

const input = { user: 'deploy', root: '/srv/ferry-storage', unitName: 'ferry-storage' };

describe('sudoersRule', () => {
  it('allows exactly the commands setup and operators run, nothing broader', () => {
    expect(sudoersRule(input)).toBe(
      [
        '# Ferry: deploy may install and control the ferry-storage units, and nothing else.',
        '# Install as /etc/sudoers.d/ferry-storage (mode 0440) after `visudo -cf`.',
        'Cmnd_Alias FERRY_FERRY_STORAGE = \\',
        '    /usr/bin/install -m 0644 /srv/ferry-storage/.ferry/ferry-storage.service /etc/systemd/system/ferry-storage.service, \\',
        '    /usr/bin/systemctl daemon-reload, \\',
        '    /usr/bin/systemctl enable --now ferry-storage.service, \\',
        '    /usr/bin/systemctl reload ferry-storage.service, \\',
        '    /usr/bin/systemctl restart ferry-storage.service',
        'deploy ALL=(root) NOPASSWD: FERRY_FERRY_STORAGE',
        '',
      ].join('\n'),
    );
  });

  it('names the sync units too in pull mode, and matches the argv setup runs', () => {
    const rule = sudoersRule({ ...input, pull: true });
    expect(rule).toContain('/usr/bin/systemctl enable --now ferry-storage-sync.timer, \\');
    expect(rule).toContain(
      '/usr/bin/install -m 0644 /srv/ferry-storage/.ferry/ferry-storage-sync.timer /etc/systemd/system/ferry-storage-sync.timer',
    );
    // What setup runs after `sudo -n`, with systemctl resolved to the path sudo matches.
    const run = systemctlArgv('enable', 'ferry-storage', { now: true }).slice(2);
    expect(rule).toContain(`/usr/bin/${run.join(' ')}`);
  });

  it('refuses names and paths that would need escaping', () => {
    expect(() => sudoersRule({ ...input, root: '/srv/a b' })).toThrow(/cannot carry safely/);
    expect(() => sudoersRule({ ...input, root: '/srv/a,ALL' })).toThrow(/cannot carry safely/);
    expect(() => sudoersRule({ ...input, user: 'root ALL' })).toThrow(/not a user name/);
    expect(sudoersFileName('storage.v2@x')).toBe('storage_v2_x');
  });
});

describeIfTool('visudo', 'sudo', 'visudo', () => {
  it('accepts the rule', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-sudoers-'));
    try {
      const file = join(dir, 'rule');
      await writeFile(file, sudoersRule({ ...input, pull: true }));
      const { stdout } = await promisify(execFile)('visudo', ['-cf', file]);
      expect(stdout).toContain('parsed OK');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
