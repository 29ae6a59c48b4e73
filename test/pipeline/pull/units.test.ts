// What `ferry setup --pull` writes on a host: the sync service + timer pair (exact lines, then systemd's
// own verdict with systemd-analyze verify), pull.json through the agent's validator, and the sync argv.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parsePullConfig } from '../../../pipeline/agent/pull/config';
import { agentArgv } from '../../../pipeline/commands/agent';
import { pullConfigJson } from '../../../pipeline/commands/pull-config';
import {
  syncServiceUnit,
  syncTimerUnit,
  syncUnitNames,
  systemctlArgv,
} from '../../../pipeline/commands/systemd';
import { describeIfTool } from '../../support/require-tool';

const base = {
  unitName: 'ferry-storage',
  user: 'deploy',
  root: '/srv/storage',
  nodePath: '/usr/bin/node',
  intervalSeconds: 120,
  jitterSeconds: 45,
};

describe('the sync timer and service', () => {
  it('names the pair after the service unit', () => {
    expect(syncUnitNames('ferry-storage')).toEqual({
      service: 'ferry-storage-sync.service',
      timer: 'ferry-storage-sync.timer',
    });
    expect(systemctlArgv('enable', 'ferry-storage-sync.timer', { now: true })).toEqual([
      'sudo',
      '-n',
      'systemctl',
      'enable',
      '--now',
      'ferry-storage-sync.timer',
    ]);
  });

  it('runs every interval after the last run, with jitter, catching up missed runs', () => {
    const lines = syncTimerUnit(base).split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        '[Timer]',
        'OnBootSec=1min',
        'OnActiveSec=120s',
        'OnUnitActiveSec=120s',
        'RandomizedDelaySec=45s',
        'Persistent=true',
        'Unit=ferry-storage-sync.service',
        'WantedBy=timers.target',
      ]),
    );
    expect(() => syncTimerUnit({ ...base, intervalSeconds: 1.5 })).toThrow(/whole number of seconds/);
  });

  it('runs agent sync once per start, as the deploy user, writable only under the root', () => {
    const lines = syncServiceUnit(base).split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'Type=oneshot',
        'User=deploy',
        'ExecStart=/usr/bin/node /srv/storage/.ferry/agent/index.js sync --root /srv/storage',
        'ProtectSystem=strict',
        'ReadWritePaths=/srv/storage',
        'NoNewPrivileges=yes',
      ]),
    );
    expect(lines.some((l) => l.startsWith('[Install]'))).toBe(false); // started by the timer only
    expect(() => syncServiceUnit({ ...base, root: '/srv/my app' })).toThrow(/cannot carry safely/);
  });

  it('builds the agent command line for sync', () => {
    expect(agentArgv('/srv/storage', 'sync', { healthTimeoutSec: 30 })).toEqual([
      '/srv/storage/.ferry/runtime/bin/node',
      '/srv/storage/.ferry/agent/index.js',
      'sync',
      '--root',
      '/srv/storage',
      '--health-timeout',
      '30',
    ]);
  });
});

describeIfTool('systemd-analyze', 'systemd', 'systemd-analyze verify on the sync pair', () => {
  const verify = async (timer: (o: typeof base) => string) => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-sync-unit-'));
    try {
      const root = join(dir, 'srv');
      await mkdir(join(root, '.ferry', 'agent'), { recursive: true });
      await writeFile(join(root, '.ferry', 'agent', 'index.js'), '');
      const o = {
        ...base,
        unitName: 'ferry-verify',
        user: userInfo().username,
        root,
        nodePath: process.execPath,
      };
      const names = syncUnitNames(o.unitName);
      await writeFile(join(dir, names.service), syncServiceUnit(o));
      await writeFile(join(dir, names.timer), timer(o));
      const { stdout, stderr } = await promisify(execFile)('systemd-analyze', [
        'verify',
        join(dir, names.timer),
        join(dir, names.service),
      ]);
      return `${stdout}${stderr}`.trim();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  it('accepts both units without a warning', async () => {
    expect(await verify(syncTimerUnit)).toBe('');
  });

  it('complains about a broken timer (so the check above means something)', async () => {
    const broken = (o: typeof base) =>
      syncTimerUnit(o).replace('OnUnitActiveSec=120s', 'OnUnitActiveSec=often');
    const out = await verify(broken).catch((err: { stderr?: string }) => err.stderr ?? String(err));
    expect(out).toMatch(/OnUnitActiveSec|often/);
  });
});

describe('pull.json', () => {
  const input = {
    app: 'storage',
    env: 'production',
    host: 'web-1',
    registry: {
      type: 'oss' as const,
      endpoint: 'https://oss-cn-shenzhen-internal.aliyuncs.com',
      bucket: 'mvp-backend-files',
      cname: false,
      prefix: 'ferry/releases',
    },
    credentials: {
      type: 'ecs-ram-role' as const,
      role: 'FerryHostRole',
      metadataEndpoint: 'http://100.100.100.200',
    },
  };

  it('is written with defaults the agent accepts', () => {
    const json = JSON.parse(pullConfigJson(input));
    expect(json).toEqual({ schema: 1, urlTtlSec: 900, ...input });
    expect(parsePullConfig(json).problems).toEqual([]);
  });

  it('names every bad key', () => {
    expect(() =>
      pullConfigJson({
        ...input,
        host: '../etc',
        registry: { ...input.registry, endpoint: 'ftp://x' },
        credentials: { type: 'none' },
      }),
    ).toThrow(
      /host: is missing or invalid\n\s+registry\.endpoint: is missing or invalid\n\s+credentials: an OSS registry needs credentials/,
    );
    expect(parsePullConfig({ schema: 2 }).problems).toContain('schema: must be 1');
  });
});
