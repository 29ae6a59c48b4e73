// A loopback stand-in for the chat bots and webhooks Ferry notifies, strict the way the real services
// are: each path takes only its own documented shape, checks its token, and (when given a secret) its
// signature, and answers as the service does, including the HTTP 200 with an error code that DingTalk,
// Feishu and WeCom use for refusals. A kind can be told to fail (HTTP 500) or hang (never answer).
//   DingTalk robot   POST /robot/send?access_token=T[&timestamp=ms&sign=urlencode(base64(HMAC-SHA256(
//                    key=secret, "ts\nsecret")))]  {msgtype: text|markdown, ...}  → {errcode, errmsg}
//   Feishu/Lark bot  POST /open-apis/bot/v2/hook/T  {msg_type, content[, timestamp, sign=base64(
//                    HMAC-SHA256(key="ts\nsecret", ""))]}  → {code, msg}
//   WeCom robot      POST /cgi-bin/webhook/send?key=T  {msgtype: text|markdown, ...}  → {errcode, errmsg}
//   Slack            POST /services/T/B/X  {text | blocks}  → "ok" | 400 invalid_payload | 404 no_service
//   webhook          POST /hook  any JSON object; with a secret, X-Ferry-Signature: sha256=<hex HMAC>
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReceiverKind = 'dingtalk' | 'feishu' | 'wecom' | 'slack' | 'webhook';
export type Behaviour = 'ok' | 'fail' | 'hang';

export interface Received {
  kind: ReceiverKind | 'unknown';
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  raw: string;
  body: unknown;
  /** The receiver took it as the real service would. */
  accepted: boolean;
  problem?: string;
  /** Set when a hanging request's connection was closed by the client. */
  abandoned?: boolean;
}

export interface WebhookReceiver {
  /** Each kind's URL with its token, as the service's settings page shows it. */
  urls: Record<ReceiverKind, string>;
  /** Signing secrets for the kinds that sign (DingTalk, Feishu, the generic webhook). */
  secrets: { dingtalk: string; feishu: string; webhook: string };
  received: Received[];
  accepted(kind: ReceiverKind): Received[];
  behave(kind: ReceiverKind, b: Behaviour): void;
  /** Called when a request arrives for a kind that hangs (e.g. to look around while it is held). */
  onHang?: (r: Received) => void;
  /** Resolves once `n` requests of `kind` arrived (accepted or not). */
  waitFor(kind: ReceiverKind, n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

const HOUR_MS = 3600_000;

export async function startWebhookReceiver(
  opts: { signed?: boolean; requireSignature?: boolean } = {},
): Promise<WebhookReceiver> {
  const signed = opts.signed ?? true;
  const tok = () => randomBytes(16).toString('hex');
  const tokens = {
    dingtalk: tok(),
    feishu: tok(),
    wecom: tok(),
    slack: `${tok().slice(0, 12).toUpperCase()}`,
  };
  const secrets = {
    dingtalk: `SEC${randomBytes(24).toString('hex')}`,
    feishu: randomBytes(12).toString('base64'),
    webhook: randomBytes(16).toString('hex'),
  };
  const behaviour = new Map<ReceiverKind, Behaviour>();
  const received: Received[] = [];
  const waiters: (() => void)[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const r: Received = {
        kind: kindOf(url.pathname),
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        raw,
        body,
        accepted: false,
      };
      received.push(r);
      for (const w of waiters.splice(0)) w();
      if (r.kind !== 'unknown' && behaviour.get(r.kind) === 'hang') {
        res.on('close', () => {
          r.abandoned = true;
        });
        receiver.onHang?.(r);
        return;
      }
      if (r.kind !== 'unknown' && behaviour.get(r.kind) === 'fail') {
        r.problem = 'failing on purpose';
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
        return;
      }
      answer(r, res);
    });
  });

  function kindOf(path: string): Received['kind'] {
    if (path === '/robot/send') return 'dingtalk';
    if (path.startsWith('/open-apis/bot/v2/hook/')) return 'feishu';
    if (path === '/cgi-bin/webhook/send') return 'wecom';
    if (path.startsWith('/services/')) return 'slack';
    if (path === '/hook') return 'webhook';
    return 'unknown';
  }

  // Each branch returns what refuse() or ok() returns (nothing): one exit per outcome.
  function answer(r: Received, res: ServerResponse) {
    const json = (status: number, v: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
    const refuse = (problem: string, send: () => void) => {
      r.problem = problem;
      send();
    };
    const ok = (send: () => void) => {
      r.accepted = true;
      send();
    };
    const b = r.body as Record<string, unknown> | undefined;
    if (r.method !== 'POST') return refuse('not a POST', () => json(405, { error: 'method not allowed' }));
    switch (r.kind) {
      case 'dingtalk': {
        const refuseDt = (code: number, msg: string) =>
          refuse(msg, () => json(200, { errcode: code, errmsg: msg }));
        if (r.query.access_token !== tokens.dingtalk) return refuseDt(300001, 'token is not exist');
        if (signed || r.query.sign !== undefined) {
          const ts = Number(r.query.timestamp);
          if (!Number.isSafeInteger(ts) || Math.abs(Date.now() - ts) > HOUR_MS) {
            return refuseDt(310000, 'sign not match, timestamp is missing or more than 1 hour away');
          }
          const expected = createHmac('sha256', secrets.dingtalk)
            .update(`${ts}\n${secrets.dingtalk}`)
            .digest('base64');
          if (r.query.sign !== expected) return refuseDt(310000, 'sign not match');
        }
        if (!dingtalkShape(b))
          return refuseDt(40035, 'missing or invalid parameter: msgtype and its content');
        return ok(() => json(200, { errcode: 0, errmsg: 'ok' }));
      }
      case 'feishu': {
        const refuseFs = (code: number, msg: string) => refuse(msg, () => json(200, { code, msg, data: {} }));
        if (r.path !== `/open-apis/bot/v2/hook/${tokens.feishu}`)
          return refuseFs(19001, 'param invalid: incoming webhook access token invalid');
        if (signed || b?.sign !== undefined) {
          const ts = Number(b?.timestamp);
          const fresh =
            typeof b?.timestamp === 'string' &&
            Number.isSafeInteger(ts) &&
            Math.abs(Date.now() / 1000 - ts) <= 3600;
          const expected = createHmac('sha256', `${b?.timestamp}\n${secrets.feishu}`)
            .update('')
            .digest('base64');
          if (!fresh || b?.sign !== expected) {
            return refuseFs(19021, 'sign match fail or timestamp is not within one hour from current time');
          }
        }
        if (!feishuShape(b)) return refuseFs(9499, 'Bad Request');
        return ok(() => json(200, { code: 0, msg: 'success', data: {} }));
      }
      case 'wecom': {
        const refuseWc = (code: number, msg: string) =>
          refuse(msg, () => json(200, { errcode: code, errmsg: msg }));
        if (r.query.key !== tokens.wecom) return refuseWc(93000, 'invalid webhook url');
        const shape = wecomShape(b);
        if (shape) return refuseWc(40008, shape);
        return ok(() => json(200, { errcode: 0, errmsg: 'ok' }));
      }
      case 'slack': {
        if (r.path !== `/services/T0${tokens.slack}/B0${tokens.slack}/${tokens.slack}`) {
          return refuse('no_service', () =>
            res.writeHead(404, { 'content-type': 'text/html' }).end('no_service'),
          );
        }
        if (!slackShape(b)) {
          return refuse('invalid_payload', () =>
            res.writeHead(400, { 'content-type': 'text/html' }).end('invalid_payload'),
          );
        }
        return ok(() => res.writeHead(200, { 'content-type': 'text/html' }).end('ok'));
      }
      case 'webhook': {
        if (!b || typeof b !== 'object' || Array.isArray(b))
          return refuse('not a JSON object', () => json(400, { error: 'bad json' }));
        if (signed) {
          const got = String(r.headers['x-ferry-signature'] ?? '');
          const want = `sha256=${createHmac('sha256', secrets.webhook).update(r.raw).digest('hex')}`;
          if (got.length !== want.length || !timingSafeEqual(Buffer.from(got), Buffer.from(want))) {
            return refuse('bad signature', () => json(401, { error: 'bad signature' }));
          }
        }
        return ok(() => res.writeHead(204).end());
      }
      default:
        return refuse('unknown path', () => json(404, { error: 'not found' }));
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const receiver: WebhookReceiver = {
    urls: {
      dingtalk: `${base}/robot/send?access_token=${tokens.dingtalk}`,
      feishu: `${base}/open-apis/bot/v2/hook/${tokens.feishu}`,
      wecom: `${base}/cgi-bin/webhook/send?key=${tokens.wecom}`,
      slack: `${base}/services/T0${tokens.slack}/B0${tokens.slack}/${tokens.slack}`,
      webhook: `${base}/hook`,
    },
    secrets,
    received,
    accepted: (kind) => received.filter((r) => r.kind === kind && r.accepted),
    behave: (kind, b) => {
      behaviour.set(kind, b);
    },
    async waitFor(kind, n, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = received.filter((r) => r.kind === kind);
        if (got.length >= n) return got;
        if (Date.now() > deadline) throw new Error(`${kind}: ${got.length} of ${n} requests arrived`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 100);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function dingtalkShape(b: unknown): boolean {
  if (!isObj(b)) return false;
  if (b.msgtype === 'text')
    return isObj(b.text) && typeof b.text.content === 'string' && b.text.content !== '';
  if (b.msgtype === 'markdown') {
    return isObj(b.markdown) && typeof b.markdown.title === 'string' && typeof b.markdown.text === 'string';
  }
  return false;
}

function feishuShape(b: unknown): boolean {
  if (!isObj(b) || !isObj(b.content)) return false;
  if (b.msg_type === 'text') return typeof b.content.text === 'string' && b.content.text !== '';
  if (b.msg_type === 'post') return isObj(b.content.post);
  return false;
}

/** null when fine, else WeCom's complaint. */
function wecomShape(b: unknown): string | null {
  if (!isObj(b)) return 'invalid message type';
  if (b.msgtype === 'text')
    return isObj(b.text) && typeof b.text.content === 'string' ? null : 'missing text content';
  if (b.msgtype === 'markdown') {
    if (!isObj(b.markdown) || typeof b.markdown.content !== 'string') return 'missing markdown content';
    return Buffer.byteLength(b.markdown.content) > 4096 ? 'markdown.content exceed max length 4096' : null;
  }
  return 'invalid message type';
}

function slackShape(b: unknown): boolean {
  if (!isObj(b)) return false;
  const text = typeof b.text === 'string' && b.text !== '';
  const blocks =
    Array.isArray(b.blocks) &&
    b.blocks.length > 0 &&
    b.blocks.every((x) => isObj(x) && typeof x.type === 'string');
  return text || blocks;
}
