// The receiver itself, with requests written by hand from each service's documentation: it takes the
// right shape with the right signature, and refuses what the real service refuses, the way it refuses
// it. The notifier's tests lean on this.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver';

let rx: WebhookReceiver;
beforeAll(async () => {
  rx = await startWebhookReceiver();
});
afterAll(async () => {
  await rx?.close();
});

const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
};

function dingtalkUrl(ts: number, secret = rx.secrets.dingtalk): string {
  const sign = createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64');
  return `${rx.urls.dingtalk}&timestamp=${ts}&sign=${encodeURIComponent(sign)}`;
}

describe('the webhook receiver', () => {
  it('DingTalk: takes a signed markdown message; refuses a bad or stale signature, a wrong token, a bad shape', async () => {
    const msg = { msgtype: 'markdown', markdown: { title: 't', text: 'x' } };
    expect(await post(dingtalkUrl(Date.now()), msg)).toEqual({
      status: 200,
      text: '{"errcode":0,"errmsg":"ok"}',
    });
    const bad = await post(dingtalkUrl(Date.now(), 'SECwrong'), msg);
    expect(JSON.parse(bad.text)).toEqual({ errcode: 310000, errmsg: 'sign not match' });
    const stale = await post(dingtalkUrl(Date.now() - 2 * 3600_000), msg);
    expect(JSON.parse(stale.text).errcode).toBe(310000);
    // The base64 sign not urlencoded: its '+' decodes to a space, so it does not match. A timestamp whose
    // signature has a '+' is found within a few tries.
    const signOf = (t: number) =>
      createHmac('sha256', rx.secrets.dingtalk).update(`${t}\n${rx.secrets.dingtalk}`).digest('base64');
    let ts = Date.now();
    while (!signOf(ts).includes('+')) ts++;
    const unencoded = await post(`${rx.urls.dingtalk}&timestamp=${ts}&sign=${signOf(ts)}`, msg);
    expect(JSON.parse(unencoded.text).errcode).toBe(310000);
    const token = await post(dingtalkUrl(Date.now()).replace(/access_token=\w+/, 'access_token=nope'), msg);
    expect(JSON.parse(token.text).errcode).toBe(300001);
    const shape = await post(dingtalkUrl(Date.now()), {
      msgtype: 'markdown',
      markdown: { text: 'no title' },
    });
    expect(JSON.parse(shape.text).errcode).toBe(40035);
    expect(rx.accepted('dingtalk')).toHaveLength(1);
  });

  it('Feishu: takes a signed text message; refuses a bad signature and a bad shape', async () => {
    const ts = String(Math.floor(Date.now() / 1000));
    const sign = createHmac('sha256', `${ts}\n${rx.secrets.feishu}`).update('').digest('base64');
    const good = await post(rx.urls.feishu, {
      timestamp: ts,
      sign,
      msg_type: 'text',
      content: { text: 'hi' },
    });
    expect(JSON.parse(good.text)).toMatchObject({ code: 0 });
    const bad = await post(rx.urls.feishu, {
      timestamp: ts,
      sign: 'x',
      msg_type: 'text',
      content: { text: 'hi' },
    });
    expect(JSON.parse(bad.text)).toMatchObject({ code: 19021 });
    const shape = await post(rx.urls.feishu, { timestamp: ts, sign, msg_type: 'text', content: {} });
    expect(JSON.parse(shape.text)).toMatchObject({ code: 9499 });
  });

  it('WeCom, Slack and the generic webhook: their shapes, tokens and signature', async () => {
    expect(
      JSON.parse((await post(rx.urls.wecom, { msgtype: 'markdown', markdown: { content: 'x' } })).text),
    ).toEqual({
      errcode: 0,
      errmsg: 'ok',
    });
    const long = { msgtype: 'markdown', markdown: { content: 'x'.repeat(4097) } };
    expect(JSON.parse((await post(rx.urls.wecom, long)).text).errcode).toBe(40008);
    expect(JSON.parse((await post(`${rx.urls.wecom}x`, long)).text).errcode).toBe(93000);

    expect(await post(rx.urls.slack, { text: 'hi' })).toEqual({ status: 200, text: 'ok' });
    expect(await post(rx.urls.slack, { attachments: [] })).toEqual({ status: 400, text: 'invalid_payload' });
    expect((await post(`${rx.urls.slack}x`, { text: 'hi' })).status).toBe(404);

    const body = JSON.stringify({ event: 'promote' });
    const sig = `sha256=${createHmac('sha256', rx.secrets.webhook).update(body).digest('hex')}`;
    expect((await post(rx.urls.webhook, body, { 'x-ferry-signature': sig })).status).toBe(204);
    expect((await post(rx.urls.webhook, body, { 'x-ferry-signature': 'sha256=00' })).status).toBe(401);
  });

  it('fails or hangs on demand', async () => {
    rx.behave('slack', 'fail');
    expect(await post(rx.urls.slack, { text: 'hi' })).toEqual({ status: 500, text: 'internal error' });
    rx.behave('slack', 'hang');
    const aborted = await fetch(rx.urls.slack, {
      method: 'POST',
      body: '{"text":"hi"}',
      signal: AbortSignal.timeout(200),
    }).catch((e: Error) => e.name);
    expect(aborted).toBe('TimeoutError');
    rx.behave('slack', 'ok');
  });
});
