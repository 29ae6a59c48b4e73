import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseTarget, type RequestContext } from './context';
import type { CredentialStore } from './credentials';
import { errorReply, errors, injectedError, OssError, type Reply } from './errors';
import type { Faults, FaultTarget, PostDecision } from './faults';
import { type Access, route } from './router';
import { authenticate } from './signature';
import type { Stats } from './stats';
import type { Bucket, Store } from './store';
import type { ObjectAcl, RequestLogEntry } from './types';

export interface Core {
  store: Store;
  creds: CredentialStore;
  faults: Faults;
  stats: Stats;
  defaultBucket: string;
  region: string;
  maxClockSkewMs: number;
}

let counter = 0;
/** OSS request ids: 24 uppercase hex characters. */
function newRequestId(): string {
  counter = (counter + 1) % 0xffffff;
  return (randomBytes(9).toString('hex') + counter.toString(16).padStart(6, '0')).toUpperCase();
}

/** Anonymous requests (no signature) pass only where ACLs make the resource public, as on OSS. */
function checkAnonymous(bucket: Bucket, key: string, access: Access): void {
  const objectAcl: ObjectAcl = bucket.objects.get(key)?.acl ?? 'default';
  const effective = objectAcl === 'default' ? bucket.acl : objectAcl;
  const allowed =
    ((access === 'read' || access === 'list') && effective !== 'private') ||
    (access === 'write' && effective === 'public-read-write');
  if (!allowed) throw errors.accessDenied('You have no right to access this object because of bucket acl.');
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of req) chunks.push(chunk as Buffer);
  } catch {
    return undefined; // client went away mid-body; nothing to answer
  }
  return Buffer.concat(chunks);
}

export function requestHandler(core: Core, port: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    res.on('error', () => {});
    handle(core, port, req, res).catch((e) => {
      console.error('oss-server: unexpected failure', e);
      res.destroy();
    });
  };
}

async function handle(core: Core, port: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = newRequestId();
  const method = (req.method ?? 'GET').toUpperCase();
  const body = await readBody(req);
  if (!body) return;
  const host = req.headers.host ?? 'localhost';
  const entry: RequestLogEntry = {
    port,
    method,
    bucket: core.defaultBucket,
    key: '',
    op: 'Unknown',
    status: 0,
    requestId,
    bytesIn: body.length,
    bytesOut: 0,
    accessKeyId: '',
    time: Date.now(),
  };

  let reply: Reply;
  let post: PostDecision = { corrupt: false };
  let delayMs = 0;
  try {
    const target = parseTarget(req.url ?? '/', host, new Set(core.store.buckets.keys()), core.defaultBucket);
    entry.bucket = target.bucketName;
    entry.key = target.key;
    const found = route(method, target.key, target.query, req.headers);
    entry.op = found.op;
    const ft: FaultTarget = { method, key: target.key, port, op: found.op };
    const pre = core.faults.before(ft);
    delayMs = pre.delayMs;
    if (pre.slow) entry.fault = 'slow';
    try {
      if (pre.fail) {
        entry.fault = 'fail';
        throw injectedError(pre.fail.status, pre.fail.code, pre.fail.message);
      }
      // OSS reports a missing bucket before looking at the signature.
      const bucket = core.store.bucket(target.bucketName);
      const now = new Date();
      const { accessKeyId } = authenticate(
        { method, headers: req.headers, bucket: bucket.name, key: target.key, query: target.query },
        core.creds,
        now,
        core.maxClockSkewMs,
      );
      if (!accessKeyId) checkAnonymous(bucket, target.key, found.access);
      entry.accessKeyId = accessKeyId;
      const ctx: RequestContext = {
        method,
        bucket,
        key: target.key,
        query: target.query,
        headers: req.headers,
        body,
        store: core.store,
        host,
        region: core.region,
        accessKeyId,
      };
      reply = found.run(ctx);
    } catch (e) {
      reply = toErrorReply(e, requestId, host, method);
    }
    post = core.faults.after(ft, reply, pre);
  } catch (e) {
    reply = toErrorReply(e, requestId, host, method);
  }

  if (delayMs > 0) await sleep(delayMs);
  entry.status = reply.status;
  if (reply.code) entry.code = reply.code;
  if (post.reset) entry.fault = 'reset';
  else if (post.corrupt) entry.fault = 'corrupt';
  entry.bytesOut = await send(req, res, reply, requestId, method, post);
  core.stats.record(entry);
}

function toErrorReply(e: unknown, requestId: string, host: string, method: string): Reply {
  if (e instanceof OssError) return errorReply(e, requestId, host, method);
  console.error('oss-server: handler crashed', e);
  return errorReply(injectedError(500, 'InternalError', String(e)), requestId, host, method);
}

/** Writes the reply, applying reset/corrupt faults. Returns response body bytes written. */
async function send(
  req: IncomingMessage,
  res: ServerResponse,
  reply: Reply,
  requestId: string,
  method: string,
  post: PostDecision,
): Promise<number> {
  let body = method === 'HEAD' || reply.status === 304 ? Buffer.alloc(0) : (reply.body ?? Buffer.alloc(0));
  const headers: Record<string, string> = {
    server: 'AliyunOSS',
    date: new Date().toUTCString(),
    'x-oss-request-id': requestId,
    ...reply.headers,
  };
  if (headers['content-length'] === undefined) headers['content-length'] = String(body.length);

  if (post.corrupt && body.length > 0) {
    // Flip bytes in a copy: the stored object stays intact, only this transfer is damaged.
    body = Buffer.from(body);
    const at = Math.floor(body.length / 2);
    for (let i = at; i < Math.min(at + 4, body.length); i++) body[i] = body[i]! ^ 0xff;
  }

  const socket = req.socket;
  if (post.reset) {
    const kill = () => (post.reset?.mode === 'fin' ? socket.end() : socket.resetAndDestroy());
    if (body.length === 0) {
      // Nothing to cut short: the connection dies before any response, like a dropped link.
      kill();
      return 0;
    }
    const n = Math.max(0, Math.min(post.reset.afterBytes ?? Math.floor(body.length / 2), body.length - 1));
    res.writeHead(reply.status, headers);
    res.flushHeaders();
    if (n > 0) await new Promise<void>((resolve) => res.write(body.subarray(0, n), () => resolve()));
    // Give the client a moment to read what was sent; an RST can discard unread bytes.
    await sleep(20);
    kill();
    return n;
  }

  res.writeHead(reply.status, headers);
  res.end(body);
  return body.length;
}
