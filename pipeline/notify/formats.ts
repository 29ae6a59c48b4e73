// One request per target type, built by pure functions (tested exactly), and each service's way of
// saying "refused" read back. The formats follow each service's documentation:
//   DingTalk robot: POST {msgtype: markdown, markdown: {title, text}}; with a signing secret the URL gets
//     &timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256(key=secret, "<timestamp>\n<secret>")>; answers
//     {errcode: 0} (a bad signature is HTTP 200 with errcode 310000).
//   Feishu/Lark bot: POST {msg_type: text, content: {text}}, with a secret also timestamp (seconds, as a
//     string) and sign = base64 HMAC-SHA256(key="<timestamp>\n<secret>", empty message); answers {code: 0}.
//   WeCom group robot: POST {msgtype: markdown, markdown: {content}} (at most 4096 bytes); {errcode: 0}.
//   Slack incoming webhook: POST {text, blocks}; answers 200 "ok".
//   Generic webhook: POST the event as JSON; with a secret, X-Ferry-Signature: sha256=<hex HMAC of body>.
import { createHmac } from 'node:crypto';
import type { NotifyType } from '../config/schema-notifications';
import type { NotifyEvent } from './event';
import { markdownOf, messageOf, plainOf } from './message';

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const WECOM_MAX_BYTES = 4096;

export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

export function feishuSign(secret: string, timestampSec: number): string {
  return createHmac('sha256', `${timestampSec}\n${secret}`).update('').digest('base64');
}

export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function buildRequest(
  type: NotifyType,
  target: { url: string; secret?: string },
  event: NotifyEvent,
  nowMs: number,
): OutgoingRequest {
  const m = messageOf(event);
  const json = (body: unknown, url = target.url, extra: Record<string, string> = {}) => ({
    url,
    headers: { 'content-type': 'application/json; charset=utf-8', ...extra },
    body: JSON.stringify(body),
  });
  switch (type) {
    case 'dingtalk': {
      let url = target.url;
      if (target.secret) {
        const u = new URL(target.url);
        u.searchParams.set('timestamp', String(nowMs));
        u.searchParams.set('sign', dingtalkSign(target.secret, nowMs));
        url = u.toString();
      }
      return json({ msgtype: 'markdown', markdown: { title: m.title, text: markdownOf(m) } }, url);
    }
    case 'feishu':
    case 'lark': {
      const ts = Math.floor(nowMs / 1000);
      return json({
        ...(target.secret ? { timestamp: String(ts), sign: feishuSign(target.secret, ts) } : {}),
        msg_type: 'text',
        content: { text: plainOf(m) },
      });
    }
    case 'wecom':
      return json({ msgtype: 'markdown', markdown: { content: clipBytes(markdownOf(m), WECOM_MAX_BYTES) } });
    case 'slack': {
      const text = markdownOf(m, '*');
      return json({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
    }
    case 'webhook': {
      const body = JSON.stringify({ ...event, title: m.title, text: plainOf(m) });
      return {
        url: target.url,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'x-ferry-event': event.event,
          ...(target.secret ? { 'x-ferry-signature': webhookSignature(target.secret, body) } : {}),
        },
        body,
      };
    }
  }
}

/** null when the service took the message; otherwise what it said, for the warning. */
export function refusal(type: NotifyType, status: number, body: string): string | null {
  if (status < 200 || status > 299) return `HTTP ${status}${body ? ` ${snippet(body)}` : ''}`;
  if (type === 'slack' || type === 'webhook') return null;
  let parsed: { errcode?: unknown; errmsg?: unknown; code?: unknown; msg?: unknown; StatusCode?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return `HTTP ${status} with an answer that is not JSON: ${snippet(body)}`;
  }
  // DingTalk and WeCom: errcode; Feishu/Lark: code (older bots: StatusCode).
  const code = type === 'feishu' || type === 'lark' ? (parsed.code ?? parsed.StatusCode) : parsed.errcode;
  if (code === 0) return null;
  const msg = parsed.errmsg ?? parsed.msg;
  return `${type} refused the message: code ${String(code)}${typeof msg === 'string' ? ` (${msg})` : ''}`;
}

function snippet(body: string): string {
  const one = body.replace(/\s+/g, ' ').trim();
  return JSON.stringify(one.length > 200 ? `${one.slice(0, 200)}…` : one);
}

function clipBytes(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = text;
  while (Buffer.byteLength(out) > max - 3) out = out.slice(0, Math.floor(out.length * 0.9));
  return `${out}…`;
}
