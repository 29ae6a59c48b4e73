// `ferry promote` and `ferry status --from-registry` through the CLI's main(), on a local registry: what
// is refused (unpublished versions, no key, a held lock, bad flags), what is recorded, and how host reports
// that are missing, stale or unknown show up. The `pull:` block of releases.yaml is checked here too.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeHostStatus } from '../../../pipeline/channels/host-status';
import { loadConfig } from '../../../pipeline/config/load';
import { acquireEnvLock, envLockKey } from '../../../pipeline/deploy/env-lock';
import { LocalRegistry } from '../../../pipeline/registry/local';
import { hostStatusKey } from '../../../pipeline/release/layout';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';
import { publishFakeApp } from '../../fixtures/releases';
import { ferry } from '../cli/run';

let dir: string;
let configFile: string;
let env: Record<string, string>;
let registry: LocalRegistry;
const key = generateSigningKeyPair();
const run = (...argv: string[]) => ferry(['-c', configFile, ...argv], { cwd: dir, env });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-promote-'));
  configFile = join(dir, 'releases.yaml');
  await writeFile(
    configFile,
    `app: { name: storage, entry: app/server.ts }
registry: { type: local, path: registry }
signing: { publicKey: ${key.publicKey} }
environments:
  prod:
    transport: local
    path: hosts
    pull: {}
    hosts:
      - { name: web-1, appPort: 4001 }
      - { name: web-2, appPort: 4002 }
      - { name: web-3, appPort: 4003 }
`,
  );
  env = { FERRY_WHO: 'alice@laptop', FERRY_SIGNING_KEY: key.privateKeyPem };
  registry = new LocalRegistry(join(dir, 'registry'));
  await publishFakeApp(join(dir, 'registry'), key, '1.0.0');
  await publishFakeApp(join(dir, 'registry'), key, '1.1.0');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('environments.<env>.pull in releases.yaml', () => {
  it('fills the defaults, and reports bad values with their key path', async () => {
    const config = loadConfig({ explicit: configFile, cwd: dir, env: {} });
    expect(config.environments.prod?.pull).toEqual({
      intervalSeconds: 120,
      jitterSeconds: 60,
      channelTtlSeconds: 7 * 86400,
      metadataEndpoint: 'http://100.100.100.200',
    });
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      `app: { name: storage, entry: a.ts }
registry: { type: local }
environments:
  prod:
    transport: local
    path: hosts
    pull: { intervalSeconds: 1, ramRole: "no spaces" }
    hosts: [{ name: a }]
`,
    );
    expect(() => loadConfig({ explicit: bad, cwd: dir, env: {} })).toThrow(
      /environments\.prod\.pull\.intervalSeconds.*\n.*environments\.prod\.pull\.ramRole: must be a RAM role name/s,
    );
  });
});

describe('ferry promote', () => {
  it('refuses what cannot become a channel', async () => {
    const unpublished = await run('promote', '9.9.9', 'prod');
    expect(unpublished.code).toBe(1);
    expect(unpublished.stderr).toMatch(/storage 9\.9\.9 is not published.*hint: run ferry releases/s);

    const noChannel = await run('promote', '--refresh', 'prod');
    expect(noChannel.code).toBe(2);
    expect(noChannel.stderr).toMatch(/prod has no channel to refresh/);

    expect((await run('promote', 'prod')).code).toBe(2);
    expect((await run('promote', '1.0.0', 'prod', '--ttl', '5')).stderr).toMatch(
      /--ttl must be a whole number/,
    );

    const noKey = await ferry(['-c', configFile, 'promote', '1.0.0', 'prod'], { cwd: dir, env: {} });
    expect(noKey.code).toBe(3);
    expect(noKey.stderr).toMatch(/no signing key/);
  });

  it('issues sequence 1, then previous + 1, and records each move in the audit log', async () => {
    const first = await run('promote', '1.0.0', 'prod', '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(first.json()).toMatchObject({
      ok: true,
      env: 'prod',
      version: '1.0.0',
      sequence: 1,
      previous: null,
      key: 'releases/storage/channels/prod.json',
    });
    const second = await run('promote', '1.1.0', 'prod', '--ttl', '600', '--json');
    const r = second.json<{ sequence: number; issuedAt: string; expiresAt: string }>();
    expect(r.sequence).toBe(2);
    expect(Date.parse(r.expiresAt) - Date.parse(r.issuedAt)).toBe(600_000);
    const refresh = await run('promote', '--refresh', 'prod', '--json');
    expect(refresh.json()).toMatchObject({ version: '1.1.0', sequence: 3, previous: { sequence: 2 } });

    const history = await run('history', 'prod', '--json');
    const entries = history.json<{
      entries: { op: string; version: string; from: string | null; who: string }[];
    }>().entries;
    expect(entries.map((e) => [e.op, e.version, e.from, e.who])).toEqual([
      ['promote', '1.0.0', null, 'alice@laptop'],
      ['promote', '1.1.0', '1.0.0', 'alice@laptop'],
      ['refresh', '1.1.0', '1.1.0', 'alice@laptop'],
    ]);
  });

  it('waits for nobody: a held environment lock refuses it (exit 4)', async () => {
    const held = await acquireEnvLock(registry, envLockKey('releases', 'storage', 'prod'), {
      env: 'prod',
      who: 'ci:job-9',
      op: 'deploy',
      ttlSeconds: 60,
    });
    try {
      const r = await run('promote', '1.0.0', 'prod');
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/prod is locked by ci:job-9/);
    } finally {
      await held.release();
    }
  });
});

describe('ferry status --from-registry', () => {
  it('shows each configured host, flags missing, stale and unknown reports', async () => {
    const report = (host: string, version: string, lastSync: string) =>
      registry.put(
        hostStatusKey('releases', 'storage', 'prod', host),
        serializeHostStatus({
          schema: 1,
          app: 'storage',
          env: 'prod',
          host,
          version,
          previous: null,
          channel: { version: '1.1.0', sequence: 3, expiresAt: '2099-01-01T00:00:00.000Z' },
          acceptedSequence: 3,
          lastSync,
          result: 'ok',
          changed: false,
          error: null,
          agentVersion: '0.1.0',
          durationMs: 12,
        }),
      );
    await report('web-1', '1.1.0', new Date().toISOString());
    await report('web-2', '1.0.0', new Date(Date.now() - 3600_000).toISOString());
    await report('old-web', '1.0.0', new Date().toISOString());
    const r = await run('status', 'prod', '--from-registry', '--json');
    expect(r.code, r.stderr).toBe(0);
    const data = r.json<{ converged: boolean; hosts: Record<string, unknown>[]; channel: object }>();
    expect(data.hosts.map((h) => [h.host, h.version ?? null, h.missing, h.stale, h.unknown])).toEqual([
      ['web-1', '1.1.0', false, false, false],
      ['web-2', '1.0.0', false, true, false],
      ['web-3', null, true, false, false],
      ['old-web', '1.0.0', false, false, true],
    ]);
    expect(data.channel).toMatchObject({ version: '1.1.0', sequence: 3, signatureOk: true, expired: false });
    expect(data.converged).toBe(false);
    const text = await run('status', 'prod', '--from-registry');
    expect(text.stdout).toMatch(/web-2\s+1\.0\.0\s+-\s+ok STALE/);
    expect(text.stdout).toMatch(/web-3\s+NO REPORT/);
    expect(text.stdout).toMatch(/channel: 1\.1\.0 \(sequence 3, by alice@laptop/);
  });
});
