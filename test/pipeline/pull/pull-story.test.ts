// Pull mode end to end: three host folders set up with `ferry setup --pull`, the strict OSS server as the
// registry, STS credentials from the metadata fake (no keys on the hosts), and `agent sync` run from the
// installed agent bundle. Promote, converge, roll back through the channel and through `ferry rollback`,
// refuse a replayed and an expired channel, survive a credential rotation, switch back from an unhealthy
// release, and report it all through `ferry status --from-registry`.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeChannel, signChannel } from '../../../pipeline/channels/channel';
import { OssObjectClient, type OssRequestError } from '../../../pipeline/credentials/oss-object';
import { staticCredentials } from '../../../pipeline/credentials/types';
import { servedVersion } from '../../fixtures/agent-host';
import { ferry } from '../cli/run';
import { APP, ENV, type PullFleet, startPullFleet } from './pull-fleet';

let fleet: PullFleet;
const served = () => Promise.all(fleet.hosts.map((h) => servedVersion(h.port)));
const artifactGets = (version: string) =>
  fleet.oss.log.filter(
    (e) =>
      e.method === 'GET' &&
      (e.key.endsWith(`${APP}-${version}.tar.br`) || e.key.endsWith(`${APP}-${version}.tar.gz`)),
  );

beforeAll(async () => {
  fleet = await startPullFleet(3);
  await Promise.all([
    // 1.0.0 as published before artifacts were brotli: the hosts converge to it and on to .tar.br ones.
    fleet.seed('1.0.0', 'ok', 'gzip'),
    fleet.seed('2.0.0'),
    fleet.seed('3.0.0', 'unhealthy'),
    fleet.seed('4.0.0'),
  ]);
  const setup = await fleet.ferry('setup', ENV, '--pull');
  expect(setup.code, setup.stderr + setup.stdout).toBe(0);
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
});

describe('pull mode on three hosts', () => {
  it('setup --pull wrote each host a private pull.json naming the role, not a key', async () => {
    const host = fleet.hosts[0]!;
    const file = join(host.root, '.ferry', 'pull.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const cfg = JSON.parse(await readFile(file, 'utf8'));
    expect(cfg).toMatchObject({
      app: APP,
      env: ENV,
      host: 'host1',
      registry: { type: 'oss', endpoint: fleet.oss.endpoints.internal, bucket: 'ferry-pull', cname: true },
      credentials: { type: 'ecs-ram-role', role: 'FerryHostRole', metadataEndpoint: fleet.meta.endpoint },
    });
  });

  it('waits quietly while the environment has no channel', async () => {
    const r = await fleet.sync(fleet.hosts[0]!);
    expect(r.code, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ ok: true, result: 'skipped', note: { code: 'no_channel' } });
    expect(fleet.status(fleet.hosts[0]!)).toMatchObject({ result: 'skipped', version: null });
  });

  it('converges every host after a promote, over the internal endpoint with the role credentials', async () => {
    const p = await fleet.ferry('promote', '1.0.0', ENV);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/channel moved \(no channel\) → 1\.0\.0 \(sequence 1\)/);
    fleet.oss.resetStats();
    const runs = await fleet.syncAll();
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.result).toMatchObject({ ok: true, result: 'ok', changed: true, current: '1.0.0' });
    }
    expect(await served()).toEqual(['1.0.0', '1.0.0', '1.0.0']);
    const gets = artifactGets('1.0.0');
    expect(gets.map((e) => e.port)).toEqual(['internal', 'internal', 'internal']);
    expect(gets.every((e) => e.key.endsWith('.tar.gz'))).toBe(true);
    // Every host request was signed with the STS credentials the metadata service issued.
    const hostIds = new Set(fleet.oss.log.filter((e) => e.port === 'internal').map((e) => e.accessKeyId));
    expect(hostIds).toEqual(new Set([fleet.meta.current.AccessKeyId]));
  });

  it('moves to the next promoted version, and a sync with nothing new changes nothing', async () => {
    expect((await fleet.ferry('promote', '2.0.0', ENV)).code).toBe(0);
    for (const r of await fleet.syncAll()) expect(r.result).toMatchObject({ ok: true, changed: true });
    expect(await served()).toEqual(['2.0.0', '2.0.0', '2.0.0']);
    const gets = artifactGets('2.0.0');
    expect(gets.map((e) => e.key.endsWith('.tar.br') && e.status)).toEqual([200, 200, 200]);
    const again = await fleet.sync(fleet.hosts[1]!);
    expect(again.result).toMatchObject({ ok: true, result: 'ok', changed: false, current: '2.0.0' });
  });

  it('rolls back through the channel without a download, and does not re-upgrade on the next sync', async () => {
    const before = artifactGets('1.0.0').length;
    const p = await fleet.ferry('promote', '1.0.0', ENV);
    expect(p.stdout).toMatch(/2\.0\.0 \(sequence 2\) → 1\.0\.0 \(sequence 3\)/);
    for (const r of await fleet.syncAll()) expect(r.result).toMatchObject({ ok: true, changed: true });
    expect(await served()).toEqual(['1.0.0', '1.0.0', '1.0.0']);
    expect(artifactGets('1.0.0').length).toBe(before); // still on disk: reused
    for (const r of await fleet.syncAll())
      expect(r.result).toMatchObject({ changed: false, current: '1.0.0' });
  });

  it('ferry deploy and ferry rollback move the channel too, so pulling hosts keep what the push did', async () => {
    const { FERRY_SIGNING_KEY: _, ...noKey } = fleet.env;
    const refused = await ferry(['-c', fleet.configFile, 'deploy', ENV, '--version', '2.0.0'], {
      cwd: fleet.dir,
      env: noKey,
    });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/fleet is in pull mode, and moving its channel needs the signing key/);
    expect(await served()).toEqual(['1.0.0', '1.0.0', '1.0.0']);

    const d = await fleet.ferry('deploy', ENV, '--version', '2.0.0');
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(d.stdout).toMatch(/channel fleet: 1\.0\.0 → 2\.0\.0 \(sequence 4/);
    const rb = await fleet.ferry('rollback', ENV);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect(rb.stdout).toMatch(/channel fleet: 2\.0\.0 → 1\.0\.0 \(sequence 5/);
    expect(await served()).toEqual(['1.0.0', '1.0.0', '1.0.0']);
    for (const r of await fleet.syncAll()) {
      expect(r.result).toMatchObject({
        ok: true,
        changed: false,
        current: '1.0.0',
        channel: { sequence: 5 },
      });
    }
    expect(await served()).toEqual(['1.0.0', '1.0.0', '1.0.0']);
    const history = await fleet.ferry('history', ENV, '--json');
    const ops = (history.json<{ entries: { op: string; version: string }[] }>().entries ?? []).map(
      (e) => `${e.op} ${e.version}`,
    );
    expect(ops).toEqual([
      'promote 1.0.0',
      'promote 2.0.0',
      'promote 1.0.0',
      'deploy 2.0.0',
      'rollback 1.0.0',
    ]);
    // The push rollback marked 2.0.0 bad on every host: a pull host will not go back to it by itself.
    expect((await fleet.ferry('promote', '2.0.0', ENV)).code).toBe(0);
    expect((await fleet.sync(fleet.hosts[0]!)).result).toMatchObject({
      ok: false,
      result: 'failed',
      error: { code: 'bad_release' },
      current: '1.0.0',
    });
    expect((await fleet.ferry('promote', '1.0.0', ENV)).code).toBe(0);
  });

  it('refuses a replayed older channel and keeps serving what it had', async () => {
    const current = fleet.channelBytes()!;
    const older = Buffer.from(current);
    // Sequence 8 → 4.0.0, accepted by host1; then the sequence-7 channel is put back (a replay).
    expect((await fleet.ferry('promote', '4.0.0', ENV)).code).toBe(0);
    const host = fleet.hosts[0]!;
    expect((await fleet.sync(host)).result).toMatchObject({ ok: true, current: '4.0.0' });
    fleet.putChannel(older);
    const r = await fleet.sync(host);
    expect(r.code).toBe(5);
    expect(r.result).toMatchObject({ ok: false, result: 'refused', error: { code: 'channel_replayed' } });
    expect(r.result?.error.message).toMatch(/sequence 7 \(1\.0\.0\) is older than 8 \(4\.0\.0\)/);
    expect(await servedVersion(host.port)).toBe('4.0.0');
    expect(fleet.status(host)).toMatchObject({ result: 'refused', version: '4.0.0', acceptedSequence: 8 });
    // A host that never saw sequence 8 takes the replayed 7: it is genuine, and not older than what it knows.
    expect((await fleet.sync(fleet.hosts[1]!)).result).toMatchObject({ ok: true, current: '1.0.0' });
  });

  it('refuses an expired channel (a freeze) until it is re-issued', async () => {
    const host = fleet.hosts[0]!;
    const now = Date.now();
    const frozen = signChannel(
      {
        app: APP,
        env: ENV,
        version: '1.0.0',
        sequence: 9,
        issuedAt: new Date(now - 2 * 3600_000).toISOString(),
        expiresAt: new Date(now - 3600_000).toISOString(),
        by: 'operator@test',
      },
      fleet.keys.privateKeyPem,
    );
    fleet.putChannel(serializeChannel(frozen));
    const r = await fleet.sync(host);
    expect(r.code).toBe(5);
    expect(r.result).toMatchObject({ result: 'refused', error: { code: 'channel_expired' } });
    expect(r.result?.error.remedy).toMatch(/ferry promote --refresh fleet/);
    expect(await servedVersion(host.port)).toBe('4.0.0');

    const refresh = await fleet.ferry('promote', '--refresh', ENV);
    expect(refresh.code, refresh.stderr).toBe(0);
    expect(refresh.stdout).toMatch(/re-issued 1\.0\.0 \(sequence 9\) → 1\.0\.0 \(sequence 10\)/);
    expect((await fleet.sync(host)).result).toMatchObject({
      ok: true,
      current: '1.0.0',
      channel: { sequence: 10 },
    });
  });

  it('keeps working after the metadata service rotates the credentials, which OSS then refuses', async () => {
    const old = fleet.meta.current;
    const rotated = fleet.meta.rotate(); // the old STS credentials are revoked on the OSS server
    const pinned = new OssObjectClient(
      { endpoint: fleet.oss.endpoints.internal!, bucket: 'ferry-pull', cname: true },
      staticCredentials({
        accessKeyId: old.AccessKeyId,
        accessKeySecret: old.AccessKeySecret,
        securityToken: old.SecurityToken,
      }),
    );
    const err = await pinned.get(`releases/${APP}/channels/${ENV}.json`).catch((e: unknown) => e);
    expect((err as OssRequestError).code).toBe('SecurityTokenExpired');

    expect((await fleet.ferry('promote', '4.0.0', ENV)).code).toBe(0);
    fleet.oss.resetStats();
    const runs = await fleet.syncAll();
    for (const r of runs) expect(r.result, r.stderr).toMatchObject({ ok: true, current: '4.0.0' });
    const ids = new Set(fleet.oss.log.filter((e) => e.port === 'internal').map((e) => e.accessKeyId));
    expect(ids).toEqual(new Set([rotated.AccessKeyId]));
  });

  it('switches back from a release that fails its health check, and reports it in the registry', async () => {
    expect((await fleet.ferry('promote', '3.0.0', ENV)).code).toBe(0);
    const host = fleet.hosts[2]!;
    const r = await fleet.sync(host, '--health-timeout', '2');
    expect(r.code).toBe(6);
    expect(r.result).toMatchObject({
      ok: false,
      result: 'rolled-back',
      rolledBack: true,
      rollback: { ok: true, to: '4.0.0' },
      error: { code: 'health_failed' },
      current: '4.0.0',
    });
    expect(await servedVersion(host.port)).toBe('4.0.0');
    expect(fleet.status(host)).toMatchObject({
      host: 'host3',
      version: '4.0.0',
      result: 'rolled-back',
      channel: { version: '3.0.0' },
      error: { code: 'health_failed', step: 'health' },
    });
    // The next run does not retry the bad release: it waits for the channel to move.
    const gets = artifactGets('3.0.0').length;
    const again = await fleet.sync(host);
    expect(again.result).toMatchObject({ ok: false, result: 'failed', error: { code: 'bad_release' } });
    expect(artifactGets('3.0.0').length).toBe(gets);
  });

  it('shows every host from the registry alone with status --from-registry', async () => {
    expect((await fleet.ferry('promote', '4.0.0', ENV)).code).toBe(0);
    await fleet.syncAll();
    const s = await fleet.ferry('status', ENV, '--from-registry', '--json');
    expect(s.code, s.stderr).toBe(0);
    const data = s.json<{
      converged: boolean;
      channel: { version: string; signatureOk: boolean };
      hosts: { host: string; version: string; result: string; missing: boolean }[];
    }>();
    expect(data.hosts.map((h) => [h.host, h.version, h.result, h.missing])).toEqual([
      ['host1', '4.0.0', 'ok', false],
      ['host2', '4.0.0', 'ok', false],
      ['host3', '4.0.0', 'ok', false],
    ]);
    expect(data.channel).toMatchObject({ version: '4.0.0', signatureOk: true });
    expect(data.converged).toBe(true);
    const text = await fleet.ferry('status', ENV, '--from-registry');
    expect(text.stdout).toMatch(/host3\s+4\.0\.0\s+\S+\s+ok/);
    expect(text.stdout).toMatch(/every host reports the channel version/);
  });
});
