// The notifier against the strict local receiver: every target type delivered in its documented shape
// (signatures checked by the receiver), and every way a target can go wrong (unset variable, refusal,
// HTTP 500, no answer) ending as one warning that names the target and never its URL or secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationConfig } from '../../../pipeline/config/resolve';
import { NOTIFY_EVENTS } from '../../../pipeline/config/schema-notifications';
import type { NotifyEvent } from '../../../pipeline/notify/event';
import { Notifier } from '../../../pipeline/notify/notifier';
import { freePort } from '../../fixtures/agent-host';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhook-receiver';

let rx: WebhookReceiver;
beforeAll(async () => {
  rx = await startWebhookReceiver();
});
afterAll(async () => {
  await rx?.close();
});

const event: NotifyEvent = {
  event: 'deploy.failed',
  app: 'storage',
  env: 'production',
  who: 'alice@laptop',
  version: '1.4.0',
  from: '1.3.2',
  time: new Date().toISOString(),
  ok: false,
  hosts: 2,
  failure: { host: 'host2', reason: 'health_failed: HTTP 500' },
};

const target = (
  index: number,
  type: NotificationConfig['type'],
  urlEnv: string,
  extra: Partial<NotificationConfig> = {},
): NotificationConfig => ({ type, index, urlEnv, events: [...NOTIFY_EVENTS], environments: null, ...extra });

function envOf(r: WebhookReceiver): Record<string, string> {
  return {
    DT_URL: r.urls.dingtalk,
    DT_SECRET: r.secrets.dingtalk,
    FS_URL: r.urls.feishu,
    FS_SECRET: r.secrets.feishu,
    WC_URL: r.urls.wecom,
    SL_URL: r.urls.slack,
    HK_URL: r.urls.webhook,
    HK_SECRET: r.secrets.webhook,
  };
}

describe('Notifier', () => {
  it('delivers to every type in its shape, signed where the service signs', async () => {
    const warnings: string[] = [];
    const n = new Notifier({
      targets: [
        target(0, 'dingtalk', 'DT_URL', { secretEnv: 'DT_SECRET' }),
        target(1, 'feishu', 'FS_URL', { secretEnv: 'FS_SECRET' }),
        target(2, 'wecom', 'WC_URL'),
        target(3, 'slack', 'SL_URL'),
        target(4, 'webhook', 'HK_URL', { secretEnv: 'HK_SECRET' }),
      ],
      env: envOf(rx),
      envName: 'production',
      warn: (l) => warnings.push(l),
    });
    n.emit(event);
    const deliveries = await n.flush();
    expect(warnings).toEqual([]);
    expect(deliveries.map((d) => [d.target, d.ok])).toEqual([
      ['notifications[0] (dingtalk)', true],
      ['notifications[1] (feishu)', true],
      ['notifications[2] (wecom)', true],
      ['notifications[3] (slack)', true],
      ['notifications[4] (webhook)', true],
    ]);
    for (const kind of ['dingtalk', 'feishu', 'wecom', 'slack', 'webhook'] as const) {
      const [got] = rx.accepted(kind);
      expect(got, kind).toBeDefined();
      // Who, what, where, what happened, the failing host and the reason reach every service.
      for (const s of ['alice@laptop', '1.4.0', 'production', 'FAILED', 'host2', 'health_failed: HTTP 500']) {
        expect(got?.raw, `${kind}: ${s}`).toContain(s);
      }
    }
    expect(rx.accepted('webhook')[0]?.body).toMatchObject({ event: 'deploy.failed', failure: event.failure });
  });

  it('sends only the events and environments a target asked for', async () => {
    const before = rx.received.length;
    const n = new Notifier({
      targets: [
        target(0, 'slack', 'SL_URL', { events: ['promote'] }),
        target(1, 'wecom', 'WC_URL', { environments: ['staging'] }),
      ],
      env: envOf(rx),
      envName: 'production',
      warn: () => {},
    });
    expect(n.wants('deploy.failed')).toBe(false);
    expect(n.wants('promote')).toBe(true);
    n.emit(event);
    expect(await n.flush()).toEqual([]);
    expect(rx.received.length).toBe(before);
  });

  it('turns every failure into a warning naming the target, never its URL or secret', async () => {
    const warnings: string[] = [];
    const wrongSecret = { ...envOf(rx), DT_SECRET: 'SECnot-the-right-one' };
    rx.behave('slack', 'fail');
    rx.behave('wecom', 'hang');
    const n = new Notifier({
      targets: [
        target(0, 'dingtalk', 'DT_URL', { secretEnv: 'DT_SECRET' }),
        target(1, 'slack', 'SL_URL'),
        target(2, 'wecom', 'WC_URL'),
        target(3, 'feishu', 'MISSING_URL'),
        target(4, 'webhook', 'BAD_URL'),
        target(5, 'feishu', 'FS_URL', { secretEnv: 'UNSET_SECRET' }),
      ],
      env: { ...wrongSecret, BAD_URL: 'ftp://example/hook' },
      envName: 'production',
      warn: (l) => warnings.push(l),
      timeoutMs: 500,
    });
    try {
      n.emit(event);
      const deliveries = await n.flush();
      expect(deliveries.every((d) => !d.ok)).toBe(true);
    } finally {
      rx.behave('slack', 'ok');
      rx.behave('wecom', 'ok');
    }
    expect(warnings).toEqual([
      'notifications[3] (feishu): deploy.failed not delivered: MISSING_URL is not set in the environment',
      'notifications[4] (webhook): deploy.failed not delivered: BAD_URL is not an http(s) URL',
      'notifications[5] (feishu): deploy.failed not delivered: UNSET_SECRET is not set in the environment',
      'notifications[0] (dingtalk): deploy.failed not delivered: dingtalk refused the message: code 310000 (sign not match)',
      'notifications[1] (slack): deploy.failed not delivered: HTTP 500 "internal error"',
      'notifications[2] (wecom): deploy.failed not delivered: no answer within 0.5s',
    ]);
    const all = warnings.join('\n');
    for (const secret of [rx.urls.dingtalk, rx.urls.slack, rx.urls.wecom, 'SECnot-the-right-one']) {
      expect(all).not.toContain(secret);
    }
  });

  it('an unreachable target is a warning too, without its URL', async () => {
    const warnings: string[] = [];
    // A port nothing listens on (just freed).
    const closed = `http://127.0.0.1:${await freePort()}/robot/send?access_token=0123456789abcdef0123456789abcdef`;
    const n = new Notifier({
      targets: [target(0, 'dingtalk', 'DT_URL')],
      env: { DT_URL: closed },
      envName: 'production',
      warn: (l) => warnings.push(l),
    });
    n.emit(event);
    await n.flush();
    expect(warnings).toEqual(['notifications[0] (dingtalk): deploy.failed not delivered: ECONNREFUSED']);
  });
});
