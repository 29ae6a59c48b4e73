import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../../app/auth/tokens';
import {
  type Backend,
  type RawPart,
  type RunningApp,
  rawMultipart,
  rawRequest,
  SECRET,
  startApp,
  startBackend,
} from '../support';

const MAX = 1000;

interface Case {
  name: string;
  request: (svc: RunningApp, token: string) => Promise<{ status: number; body: string }>;
  status: number;
  code: string;
}

function uploadRaw(parts: RawPart[], extra: { chunked?: boolean; query?: string; auth?: string } = {}) {
  return async (svc: RunningApp, token: string) => {
    const { body, contentType } = rawMultipart(parts);
    const headers: Record<string, string> = {
      'content-type': contentType,
      authorization: extra.auth ?? `Bearer ${token}`,
    };
    if (extra.chunked) headers['transfer-encoding'] = 'chunked';
    return rawRequest(`${svc.base}/v1/files${extra.query ?? ''}`, { method: 'POST', headers, body });
  };
}

const rawBody = (contentType: string, body: string) => async (svc: RunningApp, token: string) =>
  rawRequest(`${svc.base}/v1/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    body: Buffer.from(body),
  });
const file = (filename: string | Buffer, body = 'data'): RawPart[] => [{ filename, body }];
const get = (path: string, auth?: (token: string) => string) => async (svc: RunningApp, token: string) =>
  rawRequest(`${svc.base}${path}`, { headers: { authorization: auth ? auth(token) : `Bearer ${token}` } });

const otherSecretToken = () =>
  mintToken({
    secret: 'another-secret-another-secret-another-secret',
    subject: 'alice',
    scopes: ['read', 'write'],
    ttlSeconds: 600,
  });

const CASES: Case[] = [
  { name: 'name ".."', request: uploadRaw(file('..')), status: 400, code: 'invalid_name' },
  { name: 'name "."', request: uploadRaw(file('.')), status: 400, code: 'invalid_name' },
  {
    name: 'path traversal in the name',
    request: uploadRaw(file('../../etc/passwd')),
    status: 400,
    code: 'invalid_name',
  },
  { name: 'slash in the name', request: uploadRaw(file('a/b.txt')), status: 400, code: 'invalid_name' },
  {
    name: 'backslash in the name',
    request: uploadRaw(file('..\\..\\x.txt')),
    status: 400,
    code: 'invalid_name',
  },
  {
    name: 'NUL in the name',
    request: uploadRaw(file(Buffer.from('a\u0000b.txt'))),
    status: 400,
    code: 'invalid_name',
  },
  {
    name: 'control character in the name',
    request: uploadRaw(file('bell\u0007.txt')),
    status: 400,
    code: 'invalid_name',
  },
  { name: 'DEL in the name', request: uploadRaw(file('x\u007f.txt')), status: 400, code: 'invalid_name' },
  {
    name: 'bidi override in the name',
    request: uploadRaw(file('invoice\u202Efdp.exe')),
    status: 400,
    code: 'invalid_name',
  },
  {
    name: 'name over 255 bytes',
    request: uploadRaw(file('é'.repeat(128))),
    status: 400,
    code: 'invalid_name',
  },
  { name: 'empty name', request: uploadRaw(file('')), status: 400, code: 'invalid_name' },
  {
    name: 'invalid UTF-8 in the name',
    request: uploadRaw(file(Buffer.from([0x61, 0xff, 0xfe, 0x2e, 0x74]))),
    status: 400,
    code: 'invalid_name',
  },
  {
    name: 'a lone UTF-16 surrogate in the name (filename*=utf-16le)',
    request: async (svc, token) =>
      rawRequest(`${svc.base}/v1/files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'multipart/form-data; boundary=zz' },
        body: Buffer.from(
          `--zz\r\nContent-Disposition: form-data; name="file"; filename*=utf-16le''%00%D8%2E%00t%00x%00t%00\r\n` +
            'Content-Type: text/plain\r\n\r\ndata\r\n--zz--\r\n',
        ),
      }),
    status: 400,
    code: 'invalid_name',
  },
  {
    name: 'no file part at all',
    request: uploadRaw([{ field: 'comment', body: 'just text' }]),
    status: 400,
    code: 'missing_file',
  },
  {
    name: 'file in the wrong field',
    request: uploadRaw([{ field: 'upload', filename: 'a.txt', body: 'x' }]),
    status: 400,
    code: 'missing_file',
  },
  {
    name: 'a body that is not multipart',
    request: async (svc, token) =>
      rawRequest(`${svc.base}/v1/files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: Buffer.from('{"file":"x"}'),
      }),
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'multipart without a boundary',
    request: rawBody('multipart/form-data', 'whatever'),
    status: 400,
    code: 'invalid_multipart',
  },
  {
    name: 'multipart garbage',
    request: rawBody('multipart/form-data; boundary=zz', 'no parts here at all'),
    status: 400,
    code: 'invalid_multipart',
  },
  {
    name: 'file part cut off before its closing boundary',
    request: rawBody(
      'multipart/form-data; boundary=zz',
      '--zz\r\nContent-Disposition: form-data; name="file"; filename="cut.txt"\r\n\r\nabc',
    ),
    status: 400,
    code: 'upload_aborted',
  },
  {
    name: 'oversize body, refused from Content-Length',
    request: uploadRaw(file('big.bin', 'x'.repeat(MAX + 70 * 1024))),
    status: 413,
    code: 'too_large',
  },
  {
    name: 'oversize body, refused while streaming (no Content-Length)',
    request: uploadRaw(file('big.bin', 'x'.repeat(MAX + 1)), { chunked: true }),
    status: 413,
    code: 'too_large',
  },
  {
    name: 'oversize by one byte, with Content-Length',
    request: uploadRaw(file('big.bin', 'x'.repeat(MAX + 1))),
    status: 413,
    code: 'too_large',
  },
  {
    name: 'unknown query field on upload',
    request: uploadRaw(file('a.txt'), { query: '?foo=1' }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'missing token',
    request: uploadRaw(file('a.txt'), { auth: '' }),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'not a bearer token',
    request: uploadRaw(file('a.txt'), { auth: 'Basic YWxpY2U6eA==' }),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'garbage token',
    request: uploadRaw(file('a.txt'), { auth: 'Bearer not.a.jwt' }),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'expired token',
    request: async (svc) => {
      const token = await mintToken({
        secret: SECRET,
        subject: 'alice',
        scopes: ['write'],
        ttlSeconds: 1,
        now: Math.floor(Date.now() / 1000) - 3600,
      });
      return uploadRaw(file('a.txt'))(svc, token);
    },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'token signed with another secret',
    request: async (svc) => uploadRaw(file('a.txt'))(svc, await otherSecretToken()),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'unsigned token (alg none)',
    request: async (svc) => {
      const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const token = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: 'alice', scope: 'read write', iss: 'ferry', aud: 'ferry-storage', exp: now + 600 })}.`;
      return uploadRaw(file('a.txt'))(svc, token);
    },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'token for another audience',
    request: async (svc) => {
      const token = await new SignJWT({ scope: 'read write' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('alice')
        .setIssuer('ferry')
        .setAudience('something-else')
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(SECRET));
      return uploadRaw(file('a.txt'))(svc, token);
    },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'token whose subject is not a valid user id',
    request: async (svc) => {
      const token = await new SignJWT({ scope: 'read write' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('../bob')
        .setIssuer('ferry')
        .setAudience('ferry-storage')
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(SECRET));
      return uploadRaw(file('a.txt'))(svc, token);
    },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'token whose subject is a number',
    request: async (svc) => {
      const token = await new SignJWT({ sub: 42 as unknown as string, scope: 'read write' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('ferry')
        .setAudience('ferry-storage')
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(SECRET));
      return get('/v1/files')(svc, token);
    },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'unknown query field on list',
    request: get('/v1/files?sort=asc'),
    status: 400,
    code: 'invalid_request',
  },
  { name: 'limit out of range', request: get('/v1/files?limit=1000'), status: 400, code: 'invalid_request' },
  {
    name: 'unknown category',
    request: get('/v1/files?category=secrets'),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'traversal as a file id',
    request: get('/v1/files/..%2F..%2Fetc%2Fpasswd'),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'malformed file id',
    request: get('/v1/files/I01ARZ3NDEKTSV4RRFFQ69G5FAV/content'),
    status: 400,
    code: 'invalid_request',
  },
  { name: 'invalid ?user=', request: get('/v1/usage?user=..%2Fbob'), status: 400, code: 'invalid_request' },
  {
    name: 'expires out of range',
    request: get('/v1/files/d01m8n3zf2s31p6dh0agtw2zjz7/url?expires=99999999'),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'forged link signature',
    request: get(
      `/v1/files/d01m8n3zf2s31p6dh0agtw2zjz7/content?user=alice&expires=9999999999&sig=${'A'.repeat(43)}`,
      () => '',
    ),
    status: 403,
    code: 'forbidden',
  },
];

describe.each(['disk', 'oss'] as const)('hostile input on the %s backend', (kind) => {
  let backend: Backend;
  let svc: RunningApp;
  let token: string;

  beforeAll(async () => {
    backend = await startBackend(kind);
    svc = await startApp(backend, { MAX_UPLOAD_BYTES: String(MAX) });
    token = await svc.token('alice');
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });

  it.each(CASES)('$name → $status $code, nothing written', async ({ request, status, code }) => {
    const res = await request(svc, token);
    expect(res.status).toBe(status);
    expect(JSON.parse(res.body)).toEqual({ error: { code, message: expect.any(String) } });
    // Give an aborted write a moment to be cleaned up before looking.
    await new Promise((r) => setTimeout(r, 50));
    expect(await backend.written()).toEqual([]);
  });

  it('counts refused uploads by reason', async () => {
    const text = await (await fetch(`${svc.base}/metrics`)).text();
    for (const reason of [
      'invalid_name',
      'missing_file',
      'too_large',
      'unauthorized',
      'unsupported_media_type',
    ]) {
      expect(text).toMatch(new RegExp(`ferry_uploads_refused_total\\{reason="${reason}"\\} [1-9]`));
    }
  });

  it('still accepts a proper upload afterwards', async () => {
    const res = await uploadRaw(file('fine.txt', 'ok'))(svc, token);
    expect(res.status).toBe(201);
    expect((await backend.written()).length).toBeGreaterThan(0);
  });
});
