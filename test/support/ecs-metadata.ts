// A loopback stand-in for the ECS instance metadata service in hardened mode: PUT /latest/api/token with
// X-aliyun-ecs-metadata-token-ttl-seconds gives a session token; GET /latest/meta-data/ram/security-
// credentials/[<role>] needs it in X-aliyun-ecs-metadata-token and answers the documented JSON. Issued STS
// credentials are installed in an OSS test server, and rotate() replaces them there, so a client still
// holding the old ones is refused exactly as OSS would refuse it.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OssServer } from './oss-server';

export interface IssuedCredentials {
  AccessKeyId: string;
  AccessKeySecret: string;
  SecurityToken: string;
  Expiration: string;
  LastUpdated: string;
  Code: 'Success';
}

export interface FakeMetadataOptions {
  role: string;
  /** Credentials are accepted by this server while current (and refused once rotated away). */
  oss?: OssServer;
  /** Lifetime of issued credentials (default 3600 s). */
  lifetimeSeconds?: number;
}

export interface FakeMetadata {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  readonly current: IssuedCredentials;
  /** Requests by kind; `refused` counts requests without a valid session token. */
  readonly counts: { token: number; list: number; credentials: number; refused: number };
  /**
   * New credentials. By default the old ones stop working at once (revoked on the OSS server, which then
   * answers SecurityTokenExpired for their token); `keepOld` keeps them valid, as ECS does until expiry.
   */
  rotate(opts?: { keepOld?: boolean; lifetimeSeconds?: number }): IssuedCredentials;
  /** Makes the service fail: 'down' answers 500, 'no-role' 404 for the role. */
  setMode(mode: 'ok' | 'down' | 'no-role'): void;
  close(): Promise<void>;
}

export async function startFakeMetadata(opts: FakeMetadataOptions): Promise<FakeMetadata> {
  const tokens = new Map<string, number>();
  const counts = { token: 0, list: 0, credentials: 0, refused: 0 };
  let mode: 'ok' | 'down' | 'no-role' = 'ok';
  const issue = (lifetimeSeconds = opts.lifetimeSeconds ?? 3600): IssuedCredentials => {
    const now = Date.now();
    return {
      AccessKeyId: `STS.${randomBytes(8).toString('hex')}`,
      AccessKeySecret: randomBytes(20).toString('base64'),
      SecurityToken: `CAIS${randomBytes(24).toString('base64')}`,
      Expiration: new Date(now + lifetimeSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      LastUpdated: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      Code: 'Success',
    };
  };
  const install = (c: IssuedCredentials) =>
    opts.oss?.addCredentials({
      accessKeyId: c.AccessKeyId,
      accessKeySecret: c.AccessKeySecret,
      stsToken: c.SecurityToken,
      expiration: new Date(c.Expiration),
    });
  let current = issue();
  install(current);

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: string, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type }).end(body);
    };
    if (mode === 'down') return send(500, 'internal error');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') return send(405, 'method not allowed');
      const ttl = Number(req.headers['x-aliyun-ecs-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return send(400, 'missing or invalid ttl');
      counts.token++;
      const token = randomBytes(16).toString('hex');
      tokens.set(token, Date.now() + ttl * 1000);
      return send(200, token);
    }
    const token = req.headers['x-aliyun-ecs-metadata-token'];
    const until = typeof token === 'string' ? tokens.get(token) : undefined;
    if (until === undefined || until < Date.now()) {
      counts.refused++;
      return send(401, 'Unauthorized');
    }
    const prefix = '/latest/meta-data/ram/security-credentials/';
    if (req.method !== 'GET' || !path.startsWith(prefix)) return send(404, 'not found');
    const role = decodeURIComponent(path.slice(prefix.length));
    if (role === '') {
      counts.list++;
      return mode === 'no-role' ? send(404, 'not found') : send(200, opts.role);
    }
    if (role !== opts.role || mode === 'no-role') return send(404, 'not found');
    counts.credentials++;
    return send(200, JSON.stringify(current, null, 2), 'application/json');
  };

  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get current() {
      return current;
    },
    counts,
    rotate(o = {}) {
      const old = current;
      current = issue(o.lifetimeSeconds);
      install(current);
      if (!o.keepOld) opts.oss?.revokeCredentials(old.AccessKeyId);
      return current;
    },
    setMode(m) {
      mode = m;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
