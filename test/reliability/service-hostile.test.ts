// The storage service against hostile requests: names, sizes, tokens, ids, headers and methods, each with
// the status it must get, over a real socket (buildApp listening on 127.0.0.1, disk backend in a temp dir).
// Alice and Bob already have files, so "nothing was written" means more than an empty folder: after every
// request the storage folder holds exactly the same files, and Bob's file still reads back intact.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import OSS from 'ali-oss';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, type Scope } from '../../app/auth/tokens';
import { createUrlSigner } from '../../app/auth/url-sign';
import {
  type Backend,
  type RawPart,
  type RunningApp,
  rawMultipart,
  rawRequest,
  SECRET,
  startApp,
  startBackend,
  type Uploaded,
  upload,
} from '../app/support';
import { recorded } from './support/record';

const SUITE = 'service-hostile';
const MAX = 1000;
const QUOTA = 1500;
let backend: Backend;
let svc: RunningApp;
let alice: Uploaded;
let bob: Uploaded;
const aliceBytes = Buffer.alloc(500, 0x61);
const bobBytes = Buffer.from('bob private data\n'.repeat(10));

type Res = { status: number; body: string };
interface Hostile {
  kind: 'name' | 'size' | 'token' | 'id' | 'header' | 'method';
  name: string;
  status: number;
  /** The error code in the JSON body; null when the HTTP layer answers before the app (no JSON body). */
  code: string | null;
  send(): Promise<Res>;
}

const tokenFor = (user: string, scopes: Scope[] = ['read', 'write']) =>
  mintToken({ secret: SECRET, subject: user, scopes, ttlSeconds: 600 });
const bearer = async (user = 'alice', scopes?: Scope[]) => ({
  authorization: `Bearer ${await tokenFor(user, scopes)}`,
});

/** A multipart upload built by hand (hostile filenames go on the wire unescaped). */
function post(
  parts: RawPart[],
  opts: {
    auth?: () => Promise<Record<string, string>>;
    query?: string;
    headers?: Record<string, string>;
  } = {},
) {
  return async (): Promise<Res> => {
    const { body, contentType } = rawMultipart(parts);
    return rawRequest(`${svc.base}/v1/files${opts.query ?? ''}`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(await (opts.auth ?? bearer)()), ...opts.headers },
      body,
    });
  };
}

/** Any method on a path computed late (file ids exist only once beforeAll has uploaded them). */
function call(
  method: string,
  path: () => string,
  opts: {
    auth?: () => Promise<Record<string, string>>;
    headers?: Record<string, string>;
    body?: Buffer;
  } = {},
) {
  return async (): Promise<Res> =>
    rawRequest(`${svc.base}${path()}`, {
      method,
      headers: { ...(await (opts.auth ?? bearer)()), ...opts.headers },
      ...(opts.body ? { body: opts.body } : {}),
    });
}

/** Exact bytes over a socket, for what an HTTP client refuses to send; status from the status line. */
function rawSocket(text: string | (() => Promise<string>)): () => Promise<Res> {
  return async () => {
    const bytes = typeof text === 'string' ? text : await text();
    return new Promise((resolve, reject) => {
      const socket = connect(Number(new URL(svc.base).port), '127.0.0.1');
      let got = '';
      socket.on('data', (d) => {
        got += d.toString('latin1');
      });
      socket.on('error', reject);
      socket.on('close', () => {
        resolve({
          status: Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0),
          body: got.slice(got.indexOf('\r\n\r\n') + 4),
        });
      });
      socket.end(bytes);
    });
  };
}

/** A multipart upload whose Content-Disposition parameters are given verbatim. */
function rawUpload(disposition: string) {
  return async (): Promise<Res> =>
    rawRequest(`${svc.base}/v1/files`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=zz', ...(await bearer()) },
      body: Buffer.from(
        `--zz\r\nContent-Disposition: form-data; name="file"; ${disposition}\r\nContent-Type: text/plain\r\n\r\ndata\r\n--zz--\r\n`,
      ),
    });
}

/** A proper file followed by 20 text fields (busboy allows 10). */
function flood() {
  const fields = Array.from(
    { length: 20 },
    (_, i) => `--zz\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nx\r\n`,
  ).join('');
  return async (): Promise<Res> =>
    rawRequest(`${svc.base}/v1/files`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=zz', ...(await bearer()) },
      body: Buffer.from(
        `--zz\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\ndata\r\n${fields}--zz--\r\n`,
      ),
    });
}

const file = (filename: string | Buffer, body: string | Buffer = 'data'): RawPart[] => [{ filename, body }];
const noAuth = async () => ({});
const jwt =
  (claims: { sub?: string; iss?: string; aud?: string; scope?: string }, secret = SECRET) =>
  async () => {
    let t = new SignJWT({ scope: claims.scope ?? 'read write' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(claims.iss ?? 'ferry')
      .setAudience(claims.aud ?? 'ferry-storage')
      .setExpirationTime('10m');
    if (claims.sub !== undefined) t = t.setSubject(claims.sub);
    return { authorization: `Bearer ${await t.sign(new TextEncoder().encode(secret))}` };
  };
const link = (user: string, id: () => string, expiresAt: number, sig?: string) => () => {
  const s = sig ?? createUrlSigner(SECRET).sign(user, id(), expiresAt);
  return `/v1/files/${id()}/content?user=${user}&expires=${expiresAt}&sig=${s}`;
};
const now = () => Math.floor(Date.now() / 1000);

const CASES: Hostile[] = [
  // names
  {
    kind: 'name',
    name: 'path traversal as the file name',
    status: 400,
    code: 'invalid_name',
    send: post(file('../../../etc/cron.d/x')),
  },
  { kind: 'name', name: 'a name that is ".."', status: 400, code: 'invalid_name', send: post(file('..')) },
  {
    kind: 'name',
    name: 'NUL byte in the name',
    status: 400,
    code: 'invalid_name',
    send: post(file(Buffer.from('a\u0000.sh'))),
  },
  {
    // busboy drops a part whose encoded name decodes to a line break: no file reaches the app at all.
    kind: 'name',
    name: 'CR LF in an encoded name (filename*, header injection)',
    status: 400,
    code: 'missing_file',
    send: rawUpload(`filename*=UTF-8''a.txt%0D%0ASet-Cookie%3A%20s%3D1`),
  },
  {
    kind: 'name',
    name: 'a control character in an encoded name (filename*)',
    status: 400,
    code: 'invalid_name',
    send: rawUpload(`filename*=UTF-8''bell%07.txt`),
  },
  {
    // A lone surrogate: stored with 201 before, then every /content and /url of it was a 500 (disk), or
    // a 500 after the whole body was received (OSS).
    kind: 'name',
    name: "a lone UTF-16 surrogate in an encoded name (filename*=utf-16le'')",
    status: 400,
    code: 'invalid_name',
    send: rawUpload(`filename*=utf-16le''%00%D8%2E%00t%00x%00t%00`),
  },
  {
    kind: 'name',
    name: 'a 300-byte name',
    status: 400,
    code: 'invalid_name',
    send: post(file(`${'n'.repeat(296)}.txt`)),
  },
  {
    kind: 'name',
    name: 'right-to-left override in the name',
    status: 400,
    code: 'invalid_name',
    send: post(file('photo\u202Egnp.exe')),
  },
  // sizes
  {
    kind: 'size',
    name: 'one byte over the size limit',
    status: 413,
    code: 'too_large',
    send: post(file('big.bin', Buffer.alloc(MAX + 1))),
  },
  {
    kind: 'size',
    name: 'over the size limit, chunked (no Content-Length)',
    status: 413,
    code: 'too_large',
    send: post(file('big.bin', Buffer.alloc(MAX * 4)), { headers: { 'transfer-encoding': 'chunked' } }),
  },
  {
    kind: 'size',
    name: 'over the user quota',
    status: 413,
    code: 'quota_exceeded',
    send: post(file('q.bin', Buffer.alloc(900))),
  },
  {
    kind: 'size',
    name: 'two files in one upload',
    status: 400,
    code: 'too_many_files',
    send: post([
      { filename: 'a.txt', body: 'a' },
      { filename: 'b.txt', body: 'b' },
    ]),
  },
  {
    kind: 'size',
    name: 'a flood of form fields after the file',
    status: 400,
    code: 'too_many_fields',
    send: flood(),
  },
  {
    kind: 'size',
    name: 'a JSON body over the 64 KiB limit',
    status: 413,
    code: 'too_large',
    send: call('POST', () => '/v1/files', {
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(70 * 1024, 0x20),
    }),
  },
  // tokens
  {
    kind: 'token',
    name: 'no token',
    status: 401,
    code: 'unauthorized',
    send: post(file('a.txt'), { auth: noAuth }),
  },
  {
    kind: 'token',
    name: 'an expired token',
    status: 401,
    code: 'unauthorized',
    send: post(file('a.txt'), {
      auth: async () => ({
        authorization: `Bearer ${await mintToken({ secret: SECRET, subject: 'alice', scopes: ['write'], ttlSeconds: 1, now: now() - 7200 })}`,
      }),
    }),
  },
  {
    kind: 'token',
    name: 'a token signed with another secret',
    status: 401,
    code: 'unauthorized',
    send: post(file('a.txt'), { auth: jwt({ sub: 'alice' }, 'x'.repeat(40)) }),
  },
  {
    kind: 'token',
    name: 'an unsigned token (alg none)',
    status: 401,
    code: 'unauthorized',
    send: post(file('a.txt'), {
      auth: async () => {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const claims = {
          sub: 'alice',
          scope: 'read write admin',
          iss: 'ferry',
          aud: 'ferry-storage',
          exp: now() + 600,
        };
        return { authorization: `Bearer ${enc({ alg: 'none' })}.${enc(claims)}.` };
      },
    }),
  },
  {
    kind: 'token',
    name: 'a token from another issuer',
    status: 401,
    code: 'unauthorized',
    send: post(file('a.txt'), { auth: jwt({ sub: 'alice', iss: 'evil' }) }),
  },
  {
    kind: 'token',
    name: 'a token with no subject',
    status: 401,
    code: 'unauthorized',
    send: post(file('a.txt'), { auth: jwt({}) }),
  },
  {
    kind: 'token',
    name: 'a validly signed token whose sub is a number',
    status: 401,
    code: 'unauthorized',
    send: call('GET', () => '/v1/files', {
      auth: async () => {
        const t = await new SignJWT({ sub: 12345 as unknown as string, scope: 'read write' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('ferry')
          .setAudience('ferry-storage')
          .setExpirationTime('10m')
          .sign(new TextEncoder().encode(SECRET));
        return { authorization: `Bearer ${t}` };
      },
    }),
  },
  {
    kind: 'token',
    name: 'a read-only token uploading',
    status: 403,
    code: 'forbidden',
    send: post(file('a.txt'), { auth: () => bearer('alice', ['read']) }),
  },
  {
    kind: 'token',
    name: 'a read-only token deleting its own file',
    status: 403,
    code: 'forbidden',
    send: call('DELETE', () => `/v1/files/${alice.id}`, { auth: () => bearer('alice', ['read']) }),
  },
  {
    kind: 'token',
    name: 'the token in the query string instead of the header',
    status: 401,
    code: 'unauthorized',
    send: call('GET', () => `/v1/files?access_token=${'x'.repeat(20)}`, { auth: noAuth }),
  },
  {
    kind: 'token',
    name: '?user=bob without admin',
    status: 403,
    code: 'forbidden',
    send: call('GET', () => '/v1/files?user=bob'),
  },
  // ids
  {
    kind: 'id',
    name: "reading another user's file by its id",
    status: 404,
    code: 'not_found',
    send: call('GET', () => `/v1/files/${bob.id}/content`),
  },
  {
    kind: 'id',
    name: "deleting another user's file by its id",
    status: 404,
    code: 'not_found',
    send: call('DELETE', () => `/v1/files/${bob.id}`),
  },
  {
    kind: 'id',
    name: "a link signed for bob, used for alice's name",
    status: 403,
    code: 'forbidden',
    send: call(
      'GET',
      link('alice', () => bob.id, now() + 600, createUrlSigner(SECRET).sign('bob', 'x', 1)),
      { auth: noAuth },
    ),
  },
  {
    kind: 'id',
    name: 'an expired signed link',
    status: 403,
    code: 'forbidden',
    send: call(
      'GET',
      link('bob', () => bob.id, now() - 10),
      { auth: noAuth },
    ),
  },
  {
    kind: 'id',
    name: 'a link signed with another secret',
    status: 403,
    code: 'forbidden',
    send: call(
      'GET',
      () =>
        link(
          'bob',
          () => bob.id,
          now() + 600,
          createUrlSigner('y'.repeat(40)).sign('bob', bob.id, now() + 600),
        )(),
      { auth: noAuth },
    ),
  },
  {
    kind: 'id',
    name: 'traversal as the id',
    status: 400,
    code: 'invalid_request',
    send: call('GET', () => '/v1/files/..%2F..%2Fbob/content'),
  },
  {
    kind: 'id',
    name: 'a NUL in the id',
    status: 400,
    code: 'invalid_request',
    send: call('DELETE', () => '/v1/files/d01m8n3zf2s31p6dh0agtw2zj%00'),
  },
  {
    kind: 'id',
    name: 'a well-formed id that does not exist',
    status: 404,
    code: 'not_found',
    send: call('DELETE', () => '/v1/files/d01m8n3zf2s31p6dh0agtw2zjz7'),
  },
  // headers
  {
    kind: 'header',
    name: 'an unsatisfiable Range',
    status: 416,
    code: null,
    send: call('GET', () => `/v1/files/${alice.id}/content`, { headers: { range: 'bytes=99999-' } }),
  },
  {
    kind: 'header',
    name: 'multipart without a boundary',
    status: 400,
    code: 'invalid_multipart',
    send: call('POST', () => '/v1/files', {
      headers: { 'content-type': 'multipart/form-data' },
      body: Buffer.from('x'),
    }),
  },
  {
    kind: 'header',
    name: 'an upload sent as text/plain',
    status: 415,
    code: 'unsupported_media_type',
    send: call('POST', () => '/v1/files', {
      headers: { 'content-type': 'text/plain' },
      body: Buffer.from('x'),
    }),
  },
  {
    kind: 'header',
    name: 'Content-Length and Transfer-Encoding together (smuggling)',
    status: 400,
    code: 'invalid_request',
    send: rawSocket(
      'POST /v1/files HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ),
  },
  {
    kind: 'header',
    name: 'headers larger than 16 KiB',
    status: 431,
    code: 'headers_too_large',
    send: rawSocket(`GET /v1/files HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`),
  },
  {
    // The rest of the body is read as the next request, which Node's parser refuses.
    kind: 'header',
    name: 'a Content-Length shorter than the body',
    status: 400,
    code: 'invalid_request',
    send: rawSocket(
      async () =>
        `POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: ${(await bearer()).authorization}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{"file": "x"}',
    ),
  },
  // methods
  {
    kind: 'method',
    name: 'PUT over an existing file',
    status: 404,
    code: 'not_found',
    send: call('PUT', () => `/v1/files/${alice.id}`, { body: Buffer.from('overwrite') }),
  },
  {
    kind: 'method',
    name: 'PATCH on a file',
    status: 404,
    code: 'not_found',
    send: call('PATCH', () => `/v1/files/${alice.id}`, {
      body: Buffer.from('{}'),
      headers: { 'content-type': 'application/json' },
    }),
  },
  {
    kind: 'method',
    name: 'POST to a file id',
    status: 404,
    code: 'not_found',
    send: call('POST', () => `/v1/files/${bob.id}`),
  },
  {
    kind: 'method',
    name: 'DELETE on the whole collection',
    status: 404,
    code: 'not_found',
    send: call('DELETE', () => '/v1/files'),
  },
  { kind: 'method', name: 'TRACE', status: 404, code: 'not_found', send: call('TRACE', () => '/v1/files') },
];

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  backend = await startBackend('disk');
  svc = await startApp(backend, {
    MAX_UPLOAD_BYTES: String(MAX),
    USER_QUOTA_BYTES: String(QUOTA),
    MIN_FILE_CHARGE: '1',
  });
  alice = await upload(svc, 'alice', 'notes.txt', aliceBytes, 'text/plain');
  await upload(svc, 'alice', 'more.txt', aliceBytes, 'text/plain');
  bob = await upload(svc, 'bob', 'private.txt', bobBytes, 'text/plain');
});

afterAll(async () => {
  await svc?.close();
  await backend?.close();
});

describe('hostile requests to the storage service', () => {
  it('covers every kind of input with at least 30 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(CASES.map((c) => c.kind))).toEqual(
      new Set(['name', 'size', 'token', 'id', 'header', 'method']),
    );
  });

  it.each(CASES)('$kind: $name → $status', (c) =>
    recorded(
      {
        suite: SUITE,
        case: `${c.kind}: ${c.name}`,
        proves: `answered ${c.status}${c.code ? ` ${c.code}` : ''}, nothing written`,
      },
      async (note) => {
        const before = await backend.written();
        const res = await c.send();
        expect(res.status, res.body.slice(0, 300)).toBe(c.status);
        if (c.code)
          expect(JSON.parse(res.body)).toEqual({ error: { code: c.code, message: expect.any(String) } });
        // An aborted upload's temporary folder goes asynchronously: give it a moment before looking.
        await new Promise((r) => setTimeout(r, 50));
        expect(await backend.written()).toEqual(before);
        note(`${res.status}${c.code ? ` ${c.code}` : ''}; ${before.length} stored files unchanged`);
      },
    )(),
  );

  it('left every stored file intact', async () => {
    const got = await fetch(`${svc.base}/v1/files/${bob.id}/content`, { headers: await bearer('bob') });
    expect(got.status).toBe(200);
    expect(sha(Buffer.from(await got.arrayBuffer()))).toBe(sha(bobBytes));
    const list = (await (await fetch(`${svc.base}/v1/files`, { headers: await bearer('alice') })).json()) as {
      items: { id: string }[];
    };
    expect(list.items).toHaveLength(2);
  });
});

describe('credentials in URLs never reach the log', () => {
  let logBackend: Backend;
  let logged: RunningApp;
  const lines: string[] = [];

  beforeAll(async () => {
    logBackend = await startBackend('disk');
    logged = await startApp(
      logBackend,
      {},
      { logger: undefined, logStream: { write: (l) => lines.push(l) } },
    );
  });
  afterAll(async () => {
    await logged?.close();
    await logBackend?.close();
  });

  it(
    'redacts by the decoded parameter name, and anything token-like',
    recorded(
      {
        suite: SUITE,
        case: 'log: ?%73ig=, ?access_token=, ?token=, ?jwt= and a JWT under any name',
        proves: 'request logs redact credentials by decoded name and by shape; the secrets appear nowhere',
      },
      async (note) => {
        const f = await upload(logged, 'alice', 'l.txt', 'log me');
        const sig = createUrlSigner(SECRET).sign('alice', f.id, now() + 600);
        const jwtToken = await tokenFor('alice');
        const secrets = [
          sig,
          'AccessTokenValue1234567890',
          'PlainTokenValue0987654321',
          jwtToken,
          'k3y-VALUE-xyz',
        ];
        const paths = [
          `/v1/files/${f.id}/content?user=alice&expires=${now() + 600}&%73ig=${sig}`,
          `/v1/files?access_token=${secrets[1]}`,
          `/v1/files?token=${secrets[2]}`,
          `/v1/files?jwt=${jwtToken}`,
          `/v1/files?whatever=${jwtToken}`,
          `/v1/files?api%5Fkey=${secrets[4]}`,
        ];
        const statuses: number[] = [];
        for (const p of paths) statuses.push((await fetch(`${logged.base}${p}`)).status);
        // The signed link still works under its encoded name; the tokens in the query are refused.
        expect(statuses).toEqual([200, 401, 401, 401, 401, 401]);
        const text = lines.join('');
        expect(text).toContain('[redacted]');
        for (const s of secrets) expect(text).not.toContain(s);
        note(
          `statuses ${statuses.join(', ')}; ${lines.length} log lines, none holding any of the ${secrets.length} secrets`,
        );
      },
    ),
  );
});

describe('files a browser would render are attachments on the CDN and in presigned URLs', () => {
  let ossBackend: Backend;
  let ossApp: RunningApp;

  beforeAll(async () => {
    ossBackend = await startBackend('oss');
    ossApp = await startApp(ossBackend);
  });
  afterAll(async () => {
    await ossApp?.close();
    await ossBackend?.close();
  });

  it(
    'HTML and SVG are stored with Content-Disposition: attachment; a PNG is not',
    recorded(
      {
        suite: SUITE,
        case: 'OSS: text/html and image/svg+xml uploads, then fetched straight from the bucket',
        proves:
          'active content is stored with Content-Disposition: attachment, so a CDN or presigned URL downloads it instead of rendering it',
      },
      async (note) => {
        const oss = ossBackend.oss!;
        const client = new OSS(oss.clientOptions('public'));
        const seen: string[] = [];
        for (const [name, type, attachment] of [
          ['page.html', 'text/html', true],
          ['logo.svg', 'image/svg+xml', true],
          ['photo.png', 'image/png', false],
        ] as const) {
          const f = await upload(ossApp, 'alice', name, '<svg onload="alert(1)"></svg>', type);
          const key = [...oss.objects().keys()].find((k) => k.endsWith(f.id))!;
          // What the CDN's origin fetch gets: the object's own headers, no response-* overrides.
          const res = await fetch(client.signatureUrl(key, { expires: 60 }));
          await res.arrayBuffer();
          const disposition = res.headers.get('content-disposition');
          if (attachment) expect(disposition).toMatch(/^attachment; filename=/);
          else expect(disposition).toBeNull();
          seen.push(`${type}: ${disposition ? 'attachment' : 'inline'}`);
        }
        note(seen.join('; '));
      },
    ),
  );
});

describe('service links never take their host from the request', () => {
  let diskBackend: Backend;

  beforeAll(async () => {
    diskBackend = await startBackend('disk');
  });
  afterAll(async () => {
    await diskBackend?.close();
  });

  it(
    'in production without PUBLIC_BASE_URL /url says to set it; with it, a hostile Host is ignored',
    recorded(
      {
        suite: SUITE,
        case: 'disk: /url in production without PUBLIC_BASE_URL, and with a forged Host / X-Forwarded-Host',
        proves:
          'no link is ever built from the request Host: 503 not_configured naming PUBLIC_BASE_URL, else the configured base',
      },
      async (note) => {
        const prod = await startApp(diskBackend, { NODE_ENV: 'production' });
        try {
          const f = await upload(prod, 'alice', 'p.txt', 'prod');
          const res = await rawRequest(`${prod.base}/v1/files/${f.id}/url`, {
            headers: { ...(await bearer()), host: 'evil.example' },
          });
          expect(res.status).toBe(503);
          expect(JSON.parse(res.body)).toEqual({
            error: { code: 'not_configured', message: expect.stringContaining('PUBLIC_BASE_URL') },
          });
        } finally {
          await prod.close();
        }
        const configured = await startApp(diskBackend, {
          NODE_ENV: 'production',
          PUBLIC_BASE_URL: 'https://files.example.com',
          TRUST_PROXY: 'true',
        });
        try {
          const f = await upload(configured, 'alice', 'q.txt', 'prod');
          const res = await rawRequest(`${configured.base}/v1/files/${f.id}/url`, {
            headers: { ...(await bearer()), host: 'evil.example', 'x-forwarded-host': 'evil.example' },
          });
          const { url } = JSON.parse(res.body) as { url: string };
          expect(url.startsWith(`https://files.example.com/v1/files/${f.id}/content?`)).toBe(true);
          note('503 not_configured without PUBLIC_BASE_URL; with it the link uses it, whatever Host says');
        } finally {
          await configured.close();
        }
      },
    ),
  );
});
