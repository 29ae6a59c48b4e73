// Hooks and notifications through the CLI's main() on 3 local hosts (each with its own supervised
// service), the local registry, and the strict webhook receiver standing in for DingTalk, Feishu, WeCom,
// Slack and a generic webhook. Tests run in order and share the environment; each sets the hooks: and
// notifications: it needs.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} references are what releases.yaml holds
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditPrefix } from '../../../pipeline/deploy/audit';
import { refuseAgentsWithoutHooks } from '../../../pipeline/deploy/hooks';
import type { HostHandle, HostPlatformInfo } from '../../../pipeline/deploy/session';
import { ExitCode } from '../../../pipeline/exit-codes';
import type { HookRun } from '../../../pipeline/hooks/spec';
import { FIXTURE_APP } from '../../fixtures/releases';
import { answers } from '../../reliability/support/host-checks';
import { ENV_NAME, type LocalEnv, startLocalEnv } from '../../reliability/support/local-env';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver';

let env: LocalEnv;
let rx: WebhookReceiver;
let baseConfig: string;

const versions = () => Promise.all(env.hosts.map(async (h) => (await answers(h.port)).version));
const bad = async (i: number) =>
  (JSON.parse(await readFile(env.hosts[i]!.paths.state, 'utf8')) as { bad: string[] }).bad;
const hostData = (i: number, name: string) =>
  readFile(join(env.hosts[i]!.paths.sharedData, name), 'utf8').catch(() => null);

interface Audit {
  op: string;
  version: string;
  result: string;
  hooks?: HookRun[];
  hosts?: { host: string; hooks?: HookRun[]; details?: { hook?: HookRun } }[];
}
async function lastAudit(): Promise<Audit> {
  const dir = join(env.registryDir as string, ...auditPrefix(env.prefix, FIXTURE_APP, ENV_NAME).split('/'));
  const names = (await readdir(dir)).sort();
  return JSON.parse(await readFile(join(dir, names.at(-1) as string), 'utf8'));
}

const NOTIFY_ALL = `notifications:
  - type: dingtalk
    url: \${DT_URL}
    secret: \${DT_SECRET}
  - type: feishu
    url: \${FS_URL}
    secret: \${FS_SECRET}
  - type: wecom
    url: \${WC_URL}
  - type: slack
    url: \${SL_URL}
    events: [deploy.failed, host.reverted]
  - type: webhook
    url: \${HK_URL}
    secret: \${HK_SECRET}
`;

/** Rewrites releases.yaml as startLocalEnv wrote it plus these top-level blocks. */
const withBlocks = (...blocks: string[]) => writeFile(env.configFile, `${baseConfig}${blocks.join('')}`);
const webhookEvents = () => rx.accepted('webhook').map((r) => (r.body as { event: string }).event);
const webhookBodies = () =>
  rx
    .accepted('webhook')
    .map((r) => r.body as { event: string; version: string; failure?: unknown; ok: boolean });

beforeAll(async () => {
  [env, rx] = await Promise.all([
    startLocalEnv({ hosts: 3, lockTtlSeconds: 120, healthTimeoutSeconds: 4 }),
    startWebhookReceiver(),
  ]);
  baseConfig = await readFile(env.configFile, 'utf8');
  Object.assign(env.env, {
    DT_URL: rx.urls.dingtalk,
    DT_SECRET: rx.secrets.dingtalk,
    FS_URL: rx.urls.feishu,
    FS_SECRET: rx.secrets.feishu,
    WC_URL: rx.urls.wecom,
    SL_URL: rx.urls.slack,
    HK_URL: rx.urls.webhook,
    HK_SECRET: rx.secrets.webhook,
  });
  for (const v of ['1.0.0', '2.0.0', '3.0.0', '5.0.0']) await env.publish(v);
  await env.publish('4.0.0', 'unhealthy');
  const setup = await env.ferry('setup', ENV_NAME);
  expect(setup.code, setup.stdout + setup.stderr).toBe(0);
  const first = await env.ferry('deploy', ENV_NAME, '--version', '1.0.0');
  expect(first.code, first.stdout + first.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await env?.close();
  await rx?.close();
});

describe.sequential('hooks and notifications on 3 local hosts', () => {
  it('runs a once hook on the canary only, the others on every host, afterDeploy here; tells every target', async () => {
    await withBlocks(
      `hooks:
  beforeSwitch:
    - run: echo "migrate to $FERRY_RELEASE from $FERRY_PREVIOUS" >> data/migrations.log; echo migrated
      once: true
      timeoutSeconds: 20
    - run: echo "warm $FERRY_RELEASE" >> data/warm.log
      timeoutSeconds: 20
  afterSwitch:
    - run: readlink ../../current > data/after-switch.txt
      timeoutSeconds: 20
  afterDeploy:
    - run: echo "$FERRY_ENV $FERRY_VERSION $FERRY_PREVIOUS $FERRY_HOSTS" >> afterdeploy.log; echo purged /static/
      timeoutSeconds: 20
`,
      NOTIFY_ALL,
    );
    const r = await env.ferry('deploy', ENV_NAME, '--version', '2.0.0');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await versions()).toEqual(['2.0.0', '2.0.0', '2.0.0']);

    expect(await hostData(0, 'migrations.log')).toBe('migrate to 2.0.0 from 1.0.0\n');
    expect(await hostData(1, 'migrations.log')).toBeNull();
    expect(await hostData(2, 'migrations.log')).toBeNull();
    for (const i of [0, 1, 2]) {
      expect(await hostData(i, 'warm.log'), env.hosts[i]!.name).toBe('warm 2.0.0\n');
      expect(await hostData(i, 'after-switch.txt'), env.hosts[i]!.name).toBe('releases/2.0.0\n');
    }
    expect(await readFile(join(env.dir, 'afterdeploy.log'), 'utf8')).toBe(
      'local 2.0.0 1.0.0 host1,host2,host3\n',
    );
    expect(r.stdout).toMatch(/host1 .*serving 2\.0\.0[\s\S]*beforeSwitch hook "echo \\"migrate to .* ok in/);
    expect(r.stdout).toMatch(/afterDeploy hook ".*" ok in/);
    expect(r.stdout).not.toContain('warning:');

    // Output goes to the audit log: per host, and afterDeploy's at the top.
    const audit = await lastAudit();
    expect(audit).toMatchObject({ op: 'deploy', version: '2.0.0', result: 'ok' });
    expect(audit.hooks?.map((h) => [h.phase, h.ok, h.output])).toEqual([
      ['afterDeploy', true, ['purged /static/']],
    ]);
    expect(audit.hosts?.map((h) => h.hooks?.map((x) => `${x.phase}:${x.output.join('|')}`))).toEqual([
      ['beforeSwitch:migrated', 'beforeSwitch:', 'afterSwitch:'],
      ['beforeSwitch:', 'afterSwitch:'],
      ['beforeSwitch:', 'afterSwitch:'],
    ]);

    // Every target took deploy.started and deploy.succeeded in its own shape, signed where it signs;
    // Slack asked only for failures.
    for (const kind of ['dingtalk', 'feishu', 'wecom', 'webhook'] as const) {
      const got = await rx.waitFor(kind, 2);
      expect(
        got.map((g) => g.accepted),
        kind,
      ).toEqual([true, true]);
      expect(got[1]?.raw, kind).toContain('storage 2.0.0');
      expect(got[1]?.raw, kind).toContain('reliability@test');
      expect(got[1]?.raw, kind).toContain(ENV_NAME);
    }
    expect(rx.received.filter((x) => x.kind === 'slack')).toEqual([]);
    expect(webhookBodies()).toMatchObject([
      { event: 'deploy.started', version: '2.0.0', ok: true },
      { event: 'deploy.succeeded', version: '2.0.0', ok: true, from: '1.0.0', hosts: 3 },
    ]);
  }, 120_000);

  it('a failing beforeSwitch on a later host halts the rollout, returns the canary, marks nothing bad and says why', async () => {
    await writeFile(env.hosts[2]!.paths.sharedEnv, 'MIGRATION_DB=unreachable\n');
    await withBlocks(
      `hooks:
  beforeSwitch:
    - run: if [ "$MIGRATION_DB" = unreachable ]; then echo "connecting to db"; echo "ECONNREFUSED db:5432" >&2; exit 4; fi
      timeoutSeconds: 20
`,
      NOTIFY_ALL,
    );
    const before = rx.received.length;
    const r = await env.ferry('deploy', ENV_NAME, '--version', '3.0.0');
    expect(r.code, r.stdout + r.stderr).toBe(ExitCode.Failure);
    expect(r.stdout).toMatch(/host3 {2}FAILED at before-switch: beforeSwitch hook ".*" failed: exit 4/);
    expect(r.stdout).toContain("last 2 line(s) of the hook's output:");
    expect(r.stdout).toContain('| ECONNREFUSED db:5432');
    expect(r.stdout).toMatch(/host1\s+returned\s+2\.0\.0\s+2\.0\.0/);
    expect(await versions()).toEqual(['2.0.0', '2.0.0', '2.0.0']);
    for (const i of [0, 1, 2]) expect(await bad(i), env.hosts[i]!.name).not.toContain('3.0.0');

    const audit = await lastAudit();
    expect(audit.result).toBe('rolled-back');
    expect(audit.hosts?.[2]?.details?.hook).toMatchObject({
      exitCode: 4,
      output: expect.arrayContaining(['ECONNREFUSED db:5432']),
    });

    // Slack wants failures: it hears which host failed and why.
    const [slack] = await rx.waitFor('slack', 1);
    expect(slack?.accepted).toBe(true);
    expect(slack?.raw).toContain('deploy of storage 3.0.0 FAILED');
    expect(slack?.raw).toContain('failed on host3');
    expect(slack?.raw).toContain('hook_failed: beforeSwitch hook');
    expect(
      rx.received
        .slice(before)
        .filter((x) => x.kind === 'webhook')
        .map((x) => x.body),
    ).toMatchObject([
      { event: 'deploy.started' },
      { event: 'deploy.failed', ok: false, failure: { host: 'host3' } },
    ]);

    // The cause fixed, the same version deploys without --allow-bad.
    await writeFile(env.hosts[2]!.paths.sharedEnv, '');
    const again = await env.ferry('deploy', ENV_NAME, '--version', '3.0.0');
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await versions()).toEqual(['3.0.0', '3.0.0', '3.0.0']);
  }, 120_000);

  it('a release that fails its gate: host.reverted for the canary, then deploy.failed', async () => {
    await withBlocks(NOTIFY_ALL);
    const slackBefore = rx.received.filter((x) => x.kind === 'slack').length;
    const r = await env.ferry('deploy', ENV_NAME, '--version', '4.0.0');
    expect(r.code, r.stdout + r.stderr).toBe(ExitCode.Unhealthy);
    const slack = (await rx.waitFor('slack', slackBefore + 2)).slice(slackBefore);
    expect(slack.every((s) => s.accepted)).toBe(true);
    expect(slack[0]?.raw).toContain(
      'host1 of local switched back to 3.0.0 by itself: storage 4.0.0 failed its gate',
    );
    expect(slack[1]?.raw).toContain('deploy of storage 4.0.0 FAILED');
    expect(webhookEvents().slice(-3)).toEqual(['deploy.started', 'host.reverted', 'deploy.failed']);
  }, 120_000);

  it('a hanging and a failing target neither fail nor hold up the deploy; an afterDeploy timeout is a warning', async () => {
    await withBlocks(
      `hooks:
  afterDeploy:
    - run: echo "purging"; sleep 30
      timeoutSeconds: 1
`,
      NOTIFY_ALL,
    );
    rx.behave('dingtalk', 'hang');
    rx.behave('wecom', 'fail');
    // While DingTalk holds deploy.started unanswered, the canary's agent must already be at work: a
    // deploy that waited for the notification would not start before the 5 s timeout.
    let agentRanWhileHeld: boolean | null = null;
    rx.onHang = (req) => {
      if (!req.raw.includes('deploying storage 5.0.0')) return;
      void (async () => {
        for (let i = 0; i < 225 && agentRanWhileHeld === null; i++) {
          if (existsSync(env.hosts[0]!.paths.lockInfo) || existsSync(env.hosts[0]!.paths.journal)) {
            agentRanWhileHeld = !req.abandoned;
          }
          await new Promise((res) => setTimeout(res, 20));
        }
        agentRanWhileHeld ??= false;
      })();
    };
    try {
      const r = await env.ferry('deploy', ENV_NAME, '--version', '5.0.0');
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(await versions()).toEqual(['5.0.0', '5.0.0', '5.0.0']);
      expect(agentRanWhileHeld).toBe(true);
      expect(r.stdout).toContain(
        'warning: notifications[0] (dingtalk): deploy.started not delivered: no answer within 5s',
      );
      expect(r.stdout).toContain(
        'warning: notifications[2] (wecom): deploy.succeeded not delivered: HTTP 500',
      );
      expect(r.stdout).toMatch(
        /warning: afterDeploy hook "echo \\"purging\\"; sleep 30" timed out after .* and was killed; the deploy stands/,
      );
      expect(r.stdout).not.toContain(rx.urls.dingtalk);
      expect(r.stdout).not.toContain(rx.secrets.dingtalk);
      // The others still got theirs, and the success says what went wrong on the side.
      const last = webhookBodies().at(-1) as { event: string; warnings?: string[] };
      expect(last).toMatchObject({ event: 'deploy.succeeded', version: '5.0.0' });
      expect(last.warnings?.[0]).toMatch(/^afterDeploy hook .* timed out/);
      expect((await lastAudit()).hooks?.[0]).toMatchObject({
        ok: false,
        timedOut: true,
        output: ['purging'],
      });
    } finally {
      rx.behave('dingtalk', 'ok');
      rx.behave('wecom', 'ok');
      rx.onHang = undefined;
    }
  }, 120_000);

  it('rollback and promote are told too; hooks do not run on a rollback', async () => {
    await withBlocks(
      `hooks:
  beforeSwitch:
    - run: echo "$FERRY_RELEASE" >> data/rollback-hook.log
      timeoutSeconds: 20
`,
      NOTIFY_ALL,
    );
    const rb = await env.ferry('rollback', ENV_NAME);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect(await hostData(0, 'rollback-hook.log')).toBeNull();
    const pr = await env.ferry('promote', '5.0.0', ENV_NAME);
    expect(pr.code, pr.stdout + pr.stderr).toBe(0);
    expect(webhookBodies().slice(-2)).toMatchObject([
      { event: 'rollback', ok: true, version: '3.0.0', from: '5.0.0' },
      { event: 'promote', ok: true, version: '5.0.0', sequence: 1 },
    ]);
    const dt = rx.accepted('dingtalk').at(-1);
    expect(dt?.raw).toContain('channel moved to storage 5.0.0');
  }, 120_000);

  it('ferry notify sends a test to every target and exits 1 naming the one that failed', async () => {
    await withBlocks(NOTIFY_ALL);
    const ok = await env.ferry('notify', ENV_NAME);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/notifications\[3\] \(slack\)\s+ok/);
    const test = rx.accepted('slack').at(-1);
    expect(test?.raw).toContain('[test]');
    rx.behave('feishu', 'fail');
    try {
      const r = await env.ferry('notify', ENV_NAME, '--event', 'deploy.failed', '--json');
      expect(r.code).toBe(ExitCode.Failure);
      const out = JSON.parse(r.stdout) as { deliveries: { target: string; ok: boolean; error?: string }[] };
      expect(out.deliveries.filter((d) => !d.ok)).toEqual([
        {
          target: 'notifications[1] (feishu)',
          event: 'deploy.failed',
          ok: false,
          error: 'HTTP 500 "internal error"',
        },
      ]);
    } finally {
      rx.behave('feishu', 'ok');
    }
  });

  it('a fleet whose agent predates hooks is refused before any host is touched', () => {
    const hosts = env.hosts.map((h) => ({ host: { name: h.name } })) as unknown as HostHandle[];
    const platforms = new Map<string, HostPlatformInfo>(
      env.hosts.map((h, i) => [
        h.name,
        { arch: 'x64', glibc: null, node: 'v22', current: '1.0.0', features: i === 1 ? [] : ['hooks'] },
      ]),
    );
    const ctx = {
      config: {
        hooks: {
          beforeSwitch: [{ run: 'x', timeoutSeconds: 5, once: false }],
          afterSwitch: [],
          afterDeploy: [],
        },
      },
      envCfg: { name: ENV_NAME },
    } as never;
    expect(() => refuseAgentsWithoutHooks(ctx, hosts, platforms)).toThrow(
      /^host2: the agent there cannot run hooks .*nothing was changed$/,
    );
  });
});
