// The unit text, and systemd's own verdict on it (systemd-analyze verify, with real paths).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { systemctlArgv, systemdUnit, unitPath } from '../../../pipeline/commands/systemd';
import { describeIfTool } from '../../support/require-tool';

const base = { unitName: 'ferry-storage', user: 'deploy', root: '/srv/storage', nodePath: '/usr/bin/node' };
const lines = (unit: string) => unit.split('\n');

describe('systemdUnit', () => {
  it('runs the supervisor as the deploy user, reloads by SIGHUP, restarts on failure', () => {
    const unit = lines(systemdUnit({ ...base, timeoutStopSec: 25 }));
    expect(unit).toEqual(
      expect.arrayContaining([
        '[Service]',
        'Type=simple',
        'User=deploy',
        'WorkingDirectory=/srv/storage',
        'EnvironmentFile=-/srv/storage/shared/.env',
        'ExecStart=/usr/bin/node /srv/storage/.ferry/agent/index.js supervise --root /srv/storage',
        'ExecReload=/bin/kill -HUP $MAINPID',
        'Restart=on-failure',
        'KillSignal=SIGTERM',
        'TimeoutStopSec=25',
        'StandardOutput=journal',
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        'ReadWritePaths=/srv/storage',
        'ProtectHome=yes',
        'PrivateTmp=yes',
        'ProtectKernelTunables=yes',
        'ProtectControlGroups=yes',
        'RestrictSUIDSGID=yes',
        'LockPersonality=yes',
        'MemoryDenyWriteExecute=no',
        'WantedBy=multi-user.target',
      ]),
    );
  });

  it('keeps a root under /home reachable', () => {
    const unit = lines(systemdUnit({ ...base, root: '/home/deploy/storage' }));
    expect(unit).toContain('ProtectHome=read-only');
    expect(unit).toContain('ReadWritePaths=/home/deploy/storage');
  });

  it('refuses values a unit file cannot carry safely', () => {
    expect(() => systemdUnit({ ...base, root: '/srv/my app' })).toThrow(/root/);
    expect(() => systemdUnit({ ...base, root: '/srv/100%' })).toThrow(/root/);
    expect(() => systemdUnit({ ...base, user: 'deploy\nExecStartPre=/bin/sh' })).toThrow(/user/);
    expect(() => systemdUnit({ ...base, nodePath: 'node' })).toThrow(/nodePath/);
  });

  it('builds systemctl command lines', () => {
    expect(systemctlArgv('daemon-reload')).toEqual(['sudo', '-n', 'systemctl', 'daemon-reload']);
    expect(systemctlArgv('enable', 'ferry-storage', { now: true })).toEqual([
      'sudo',
      '-n',
      'systemctl',
      'enable',
      '--now',
      'ferry-storage.service',
    ]);
    expect(systemctlArgv('is-active', 'ferry-storage', { sudo: false })).toEqual([
      'systemctl',
      'is-active',
      'ferry-storage.service',
    ]);
    expect(unitPath('ferry-storage')).toBe('/etc/systemd/system/ferry-storage.service');
  });
});

describeIfTool('systemd-analyze', 'systemd', 'systemd-analyze verify', () => {
  it('accepts the unit without a warning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-unit-'));
    try {
      const root = join(dir, 'srv');
      await mkdir(join(root, '.ferry', 'agent'), { recursive: true });
      await writeFile(join(root, '.ferry', 'agent', 'index.js'), '');
      const file = join(dir, 'ferry-verify.service');
      await writeFile(
        file,
        systemdUnit({
          ...base,
          unitName: 'ferry-verify',
          user: userInfo().username,
          root,
          nodePath: process.execPath,
        }),
      );
      const { stdout, stderr } = await promisify(execFile)('systemd-analyze', ['verify', file]);
      expect(`${stdout}${stderr}`.trim()).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a unit whose node binary does not exist (so the check above means something)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-unit-'));
    try {
      const file = join(dir, 'ferry-broken.service');
      await writeFile(
        file,
        systemdUnit({
          ...base,
          unitName: 'ferry-broken',
          user: userInfo().username,
          root: dir,
          nodePath: '/nonexistent/node',
        }),
      );
      await expect(promisify(execFile)('systemd-analyze', ['verify', file])).rejects.toThrow(
        /not executable/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
