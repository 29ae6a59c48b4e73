// hooks: and notifications: in releases.yaml: defaults, errors with key paths, and the credential check
// that keeps bot URLs and signing secrets out of the committed file (only ${ENV_NAME} references pass).
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} references are what releases.yaml holds
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../pipeline/config/load';
import { ConfigError } from '../../../pipeline/errors';
import {
  FAKE_DINGTALK_SECRET,
  FAKE_DINGTALK_URL,
  FAKE_FEISHU_URL,
  FAKE_SLACK_URL,
} from '../../fixtures/fake-credentials';

const base = (extra: Record<string, unknown>, stagingLockTtl = 400) =>
  stringify({
    app: { name: 'shop', entry: 'app/server.ts' },
    registry: { type: 'local' },
    environments: {
      production: { transport: 'local', path: 'hosts', hosts: [{ name: 'a' }] },
      staging: {
        transport: 'local',
        path: 'hosts-s',
        hosts: [{ name: 'a' }],
        lockTtlSeconds: stagingLockTtl,
      },
    },
    ...extra,
  });

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, '/project/releases.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => p.replace(/ \(line \d+\)$/, ''));
  }
  throw new Error('expected a ConfigError');
}

describe('hooks:', () => {
  it('resolves with defaults: 300 s timeout, once false, empty phases', () => {
    const c = parseConfig(
      base({
        hooks: {
          beforeSwitch: [{ run: 'node scripts/migrate.js', once: true, timeoutSeconds: 100 }],
          afterDeploy: [{ run: './purge-cdn.sh /static/' }],
        },
      }),
      '/project/releases.yaml',
    );
    expect(c.hooks).toEqual({
      beforeSwitch: [{ run: 'node scripts/migrate.js', timeoutSeconds: 100, once: true }],
      afterSwitch: [],
      afterDeploy: [{ run: './purge-cdn.sh /static/', timeoutSeconds: 300, once: false }],
    });
    expect(parseConfig(base({}), '/project/releases.yaml').hooks).toEqual({
      beforeSwitch: [],
      afterSwitch: [],
      afterDeploy: [],
    });
  });

  it('names each bad key: an empty command, once on a local hook, an unknown phase, a timeout the lock would not outlive', () => {
    expect(
      problemsOf(
        base({
          hooks: {
            beforeSwitch: [{ run: '' }],
            afterDeploy: [{ run: 'x', once: true }],
            beforeDeploy: [{ run: 'x' }],
            afterSwitch: [{ run: 'x', timeoutSeconds: 500 }],
          },
        }),
      ),
    ).toEqual([
      'hooks.beforeSwitch[0].run: must be a non-empty shell command',
      'hooks.afterDeploy[0].once: unknown key (expected one of: run, timeoutSeconds)',
      'hooks.beforeDeploy: unknown key (expected one of: beforeSwitch, afterSwitch, afterDeploy)',
      'hooks.afterSwitch[0].timeoutSeconds: must be shorter than environments.staging.lockTtlSeconds (400): the deploy lock must outlive the hook (500s); lower it or raise lockTtlSeconds',
    ]);
    // The default timeout (300 s) counts too.
    expect(problemsOf(base({ hooks: { afterSwitch: [{ run: 'x' }] } }, 120))).toEqual([
      'hooks.afterSwitch[0].timeoutSeconds: must be shorter than environments.staging.lockTtlSeconds (120): the deploy lock must outlive the hook (300s, the default); lower it or raise lockTtlSeconds',
    ]);
  });
});

describe('notifications:', () => {
  it('resolves ${NAME} references and defaults to every event in every environment', () => {
    const c = parseConfig(
      base({
        notifications: [
          { type: 'dingtalk', url: '${DINGTALK_WEBHOOK}', secret: '${DINGTALK_SECRET}' },
          { type: 'slack', url: '${SLACK_WEBHOOK}', events: ['deploy.failed'], environments: ['production'] },
        ],
      }),
      '/project/releases.yaml',
    );
    expect(c.notifications).toEqual([
      {
        type: 'dingtalk',
        index: 0,
        urlEnv: 'DINGTALK_WEBHOOK',
        secretEnv: 'DINGTALK_SECRET',
        events: [
          'deploy.started',
          'deploy.succeeded',
          'deploy.failed',
          'rollback',
          'host.reverted',
          'promote',
        ],
        environments: null,
      },
      {
        type: 'slack',
        index: 1,
        urlEnv: 'SLACK_WEBHOOK',
        events: ['deploy.failed'],
        environments: ['production'],
      },
    ]);
  });

  it('refuses literal bot URLs and secrets, saying to use an environment variable', () => {
    const problems = problemsOf(
      base({
        notifications: [
          { type: 'dingtalk', url: FAKE_DINGTALK_URL, secret: FAKE_DINGTALK_SECRET },
          { type: 'feishu', url: FAKE_FEISHU_URL },
          { type: 'webhook', url: 'https://deploys.example.com/ferry' },
        ],
        hooks: { afterDeploy: [{ run: `curl -X POST ${FAKE_SLACK_URL} -d @msg.json` }] },
      }),
    );
    const remedy =
      'Use an environment variable of the machine running ferry, referenced as ${NAME} (e.g. url: ${DINGTALK_WEBHOOK}, secret: ${DINGTALK_SECRET})';
    expect(problems).toEqual([
      `notifications[0].url: is a literal webhook URL, and a bot's URL carries its token; releases.yaml is committed. ${remedy}`,
      `notifications[0].secret: looks like a secret (by its name); releases.yaml is committed. ${remedy}`,
      `notifications[1].url: is a literal webhook URL, and a bot's URL carries its token; releases.yaml is committed. ${remedy}`,
      `notifications[2].url: is a literal webhook URL, and a bot's URL carries its token; releases.yaml is committed. ${remedy}`,
      `hooks.afterDeploy[0].run: is a literal webhook URL, and a bot's URL carries its token; releases.yaml is committed. ${remedy}`,
    ]);
    for (const p of problems) {
      expect(p).not.toContain(FAKE_DINGTALK_SECRET);
      expect(p).not.toContain('f0f0f0f0');
    }
  });

  it('checks types, events, references, unsigned types with a secret and unknown environments', () => {
    expect(
      problemsOf(
        base({
          notifications: [
            { type: 'teams', url: '${X}' },
            { type: 'slack', url: 'SLACK_WEBHOOK', secret: '${SLACK_SECRET}', events: ['deploy.done'] },
            { type: 'wecom', url: '${WECOM_WEBHOOK}', environments: ['prod'] },
          ],
        }),
      ),
    ).toEqual([
      'notifications[0].type: must be one of dingtalk, feishu, lark, wecom, slack, webhook',
      'notifications[1].url: must be a reference to an environment variable, like ${DINGTALK_WEBHOOK}: releases.yaml is committed, so it must not hold the URL itself',
      'notifications[1].secret: slack webhooks are not signed, so the secret would be unused: remove it (the URL alone is the credential)',
      'notifications[1].events[0]: must be one of deploy.started, deploy.succeeded, deploy.failed, rollback, host.reverted, promote',
      'notifications[2].environments[0]: is not an environment of this file (production, staging)',
    ]);
    expect(
      problemsOf(base({ notifications: [{ type: 'wecom', url: '${WECOM_WEBHOOK}', secret: '${S}' }] })),
    ).toEqual([
      'notifications[0].secret: wecom webhooks are not signed, so the secret would be unused: remove it (the URL alone is the credential)',
    ]);
  });
});
