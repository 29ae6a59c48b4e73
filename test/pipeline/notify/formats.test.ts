// The message and each service's request, exactly, from pure builders; the signatures against
// known answers computed with openssl (shown in each test), not with the code under test.
import { describe, expect, it } from 'vitest';
import type { NotifyEvent } from '../../../pipeline/notify/event';
import {
  buildRequest,
  dingtalkSign,
  feishuSign,
  refusal,
  webhookSignature,
} from '../../../pipeline/notify/formats';
import { messageOf } from '../../../pipeline/notify/message';

const failed: NotifyEvent = {
  event: 'deploy.failed',
  app: 'storage',
  env: 'production',
  who: 'ci:shop#42',
  version: '1.4.0',
  from: '1.3.2',
  time: '2026-12-01T10:00:00.000Z',
  ok: false,
  hosts: 3,
  failure: { host: 'web-2', reason: 'health_failed: 1.4.0 failed its health check within 60s: HTTP 500' },
  durationMs: 12_345,
};

describe('signatures (known answers)', () => {
  it('DingTalk: base64 HMAC-SHA256 with the secret as key over "timestamp\\nsecret"', () => {
    // printf '1700000000000\nSECtest' | openssl dgst -sha256 -hmac SECtest -binary | base64
    expect(dingtalkSign('SECtest', 1_700_000_000_000)).toBe('aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g=');
  });
  it('Feishu/Lark: base64 HMAC-SHA256 with "timestamp\\nsecret" as key over nothing', () => {
    // printf '' | openssl dgst -sha256 -hmac "$(printf '1700000000\nSECtest')" -binary | base64
    expect(feishuSign('SECtest', 1_700_000_000)).toBe('G7XpBpG8NgG02fJOAhX6FRAObIljmFoxVReo8I62pEk=');
  });
  it('generic webhook: hex HMAC-SHA256 of the body', () => {
    // printf '{"a":1}' | openssl dgst -sha256 -hmac whsec -hex
    expect(webhookSignature('whsec', '{"a":1}')).toBe(
      'sha256=19373ef0e8c66f206e49d251e4402291615bbce6ef00922e94a47a213fb76ee1',
    );
  });
});

describe('the message', () => {
  it('says who, what version, which environment, what happened, and where and why it failed', () => {
    expect(messageOf(failed)).toEqual({
      title: '[production] deploy of storage 1.4.0 FAILED',
      lines: [
        'Deploy of storage 1.4.0 to production by ci:shop#42 failed on web-2.',
        'Before: 1.3.2.',
        'Reason: health_failed: 1.4.0 failed its health check within 60s: HTTP 500',
      ],
    });
    expect(
      messageOf({ ...failed, event: 'deploy.succeeded', ok: true, failure: undefined, warnings: ['w1'] }),
    ).toEqual({
      title: '[production] storage 1.4.0 deployed',
      lines: [
        'storage 1.4.0 is serving on production (3 hosts), deployed by ci:shop#42 in 12.3s.',
        'Before: 1.3.2.',
        'Warning: w1',
      ],
    });
    expect(messageOf({ ...failed, event: 'host.reverted' }).lines[0]).toBe(
      'web-2 of production switched back to 1.3.2 by itself: storage 1.4.0 failed its gate (run by ci:shop#42).',
    );
    expect(
      messageOf({ ...failed, event: 'promote', ok: true, failure: undefined, sequence: 7 }).lines[0],
    ).toBe(
      'The channel of production was moved to storage 1.4.0 (sequence 7) by ci:shop#42; pull-mode hosts converge at their next sync.',
    );
    const long = messageOf({ ...failed, failure: { host: 'h', reason: `x\n${'y'.repeat(2000)}` } });
    expect(long.lines.at(-1)?.length).toBeLessThan(700);
  });
});

describe('requests', () => {
  const now = 1_700_000_000_000;
  const body = (r: { body: string }) => JSON.parse(r.body);

  it('DingTalk: markdown, with timestamp and the urlencoded sign added to the URL', () => {
    const r = buildRequest(
      'dingtalk',
      { url: 'https://oapi.example/robot/send?access_token=T', secret: 'SECtest' },
      failed,
      now,
    );
    expect(r.url).toBe(
      'https://oapi.example/robot/send?access_token=T&timestamp=1700000000000&sign=aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g%3D',
    );
    expect(body(r)).toEqual({
      msgtype: 'markdown',
      markdown: {
        title: '[production] deploy of storage 1.4.0 FAILED',
        text: [
          '**[production] deploy of storage 1.4.0 FAILED**',
          'Deploy of storage 1.4.0 to production by ci:shop#42 failed on web-2.',
          'Before: 1.3.2.',
          'Reason: health_failed: 1.4.0 failed its health check within 60s: HTTP 500',
        ].join('\n\n'),
      },
    });
    expect(buildRequest('dingtalk', { url: 'https://d/robot/send?access_token=T' }, failed, now).url).toBe(
      'https://d/robot/send?access_token=T',
    );
  });

  it('Feishu/Lark: text, with timestamp (seconds, a string) and sign in the body', () => {
    expect(body(buildRequest('feishu', { url: 'https://f/hook/T', secret: 'SECtest' }, failed, now))).toEqual(
      {
        timestamp: '1700000000',
        sign: 'G7XpBpG8NgG02fJOAhX6FRAObIljmFoxVReo8I62pEk=',
        msg_type: 'text',
        content: {
          text: [
            '[production] deploy of storage 1.4.0 FAILED',
            'Deploy of storage 1.4.0 to production by ci:shop#42 failed on web-2.',
            'Before: 1.3.2.',
            'Reason: health_failed: 1.4.0 failed its health check within 60s: HTTP 500',
          ].join('\n'),
        },
      },
    );
    expect(Object.keys(body(buildRequest('lark', { url: 'https://l/hook/T' }, failed, now)))).toEqual([
      'msg_type',
      'content',
    ]);
  });

  it('WeCom: markdown content cut to 4096 bytes; Slack: text and one mrkdwn section', () => {
    const huge = { ...failed, warnings: Array.from({ length: 20 }, () => '漢'.repeat(300)) };
    const w = body(buildRequest('wecom', { url: 'https://w/send?key=K' }, huge, now));
    expect(w.msgtype).toBe('markdown');
    expect(Buffer.byteLength(w.markdown.content)).toBeLessThanOrEqual(4096);
    const s = body(buildRequest('slack', { url: 'https://hooks/services/T/B/X' }, failed, now));
    expect(s.text.startsWith('*[production] deploy of storage 1.4.0 FAILED*\n\n')).toBe(true);
    expect(s.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: s.text } }]);
  });

  it('generic webhook: the event as JSON with title and text, signed in a header', () => {
    const r = buildRequest('webhook', { url: 'https://h/hook', secret: 'whsec' }, failed, now);
    expect(body(r)).toMatchObject({ ...failed, title: '[production] deploy of storage 1.4.0 FAILED' });
    expect(r.headers['x-ferry-event']).toBe('deploy.failed');
    expect(r.headers['x-ferry-signature']).toBe(webhookSignature('whsec', r.body));
  });

  it("reads each service's refusals", () => {
    expect(refusal('dingtalk', 200, '{"errcode":0,"errmsg":"ok"}')).toBeNull();
    expect(refusal('dingtalk', 200, '{"errcode":310000,"errmsg":"sign not match"}')).toBe(
      'dingtalk refused the message: code 310000 (sign not match)',
    );
    expect(refusal('feishu', 200, '{"code":19021,"msg":"sign match fail"}')).toBe(
      'feishu refused the message: code 19021 (sign match fail)',
    );
    expect(refusal('feishu', 200, '{"StatusCode":0}')).toBeNull();
    expect(refusal('wecom', 200, 'not json')).toBe('HTTP 200 with an answer that is not JSON: "not json"');
    expect(refusal('slack', 400, 'invalid_payload')).toBe('HTTP 400 "invalid_payload"');
    expect(refusal('slack', 200, 'ok')).toBeNull();
    expect(refusal('webhook', 204, '')).toBeNull();
  });
});
