// The OSS stand-in's authentication (V1 header signatures, presigned URLs, STS tokens, rotation)
// and its per-port accounting, through the real ali-oss client and plain fetch.
import OSS from 'ali-oss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OssServer, startOssServer } from './oss-server';

async function ossError(p: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: { status: number; code: string; message: string }) => err,
  );
  if (!e) throw new Error('expected the OSS call to fail');
  return e;
}

describe('V1 signatures and presigned URLs', () => {
  let server: OssServer;
  let client: OSS;
  beforeAll(async () => {
    server = await startOssServer({ bucket: 'ferry-auth' });
    client = new OSS(server.clientOptions());
    server.putObject('doc.txt', 'signed content', { contentType: 'text/plain' });
  });
  afterAll(() => server.close());

  it('rejects a wrong secret with SignatureDoesNotMatch', async () => {
    const bad = new OSS({ ...server.clientOptions(), accessKeySecret: 'not-the-secret' });
    const e = await ossError(bad.get('doc.txt'));
    expect([e.status, e.code]).toEqual([403, 'SignatureDoesNotMatch']);
    const head = await ossError(bad.head('doc.txt'));
    expect([head.status, head.code]).toEqual([403, 'SignatureDoesNotMatch']);
  });

  it('puts the StringToSign it computed into the error document, as OSS does', async () => {
    const bad = new OSS({ ...server.clientOptions(), accessKeySecret: 'not-the-secret' });
    const url = bad.signatureUrl('doc.txt', { expires: 600 });
    const expires = new URL(url).searchParams.get('Expires');
    const res = await fetch(url);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/xml');
    const xml = await res.text();
    expect(xml).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(xml).toContain(`<StringToSign>GET\n\n\n${expires}\n/ferry-auth/doc.txt</StringToSign>`);
    expect(xml).toMatch(/<RequestId>[0-9A-F]{24}<\/RequestId>/);
  });

  it('rejects an unknown key id with InvalidAccessKeyId and an unsigned request with AccessDenied', async () => {
    const stranger = new OSS({ ...server.clientOptions(), accessKeyId: 'who-is-this' });
    const e = await ossError(stranger.get('doc.txt'));
    expect([e.status, e.code]).toEqual([403, 'InvalidAccessKeyId']);
    const anon = await fetch(`${server.endpoints.public}/doc.txt`);
    expect(anon.status).toBe(403);
    expect(await anon.text()).toContain('<Code>AccessDenied</Code>');
  });

  it('rejects requests dated more than 15 minutes off with RequestTimeTooSkewed', async () => {
    const skewed = new OSS({ ...server.clientOptions(), amendTimeSkewed: -20 * 60 * 1000 } as OSS.Options);
    const e = await ossError(skewed.get('doc.txt'));
    expect([e.status, e.code]).toEqual([403, 'RequestTimeTooSkewed']);
  });

  it('serves a presigned GET fetched for real, with signed response-* overrides', async () => {
    const url = client.signatureUrl('doc.txt', {
      expires: 60,
      response: { 'content-disposition': 'attachment; filename="doc.txt"' },
    });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('signed content');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="doc.txt"');

    // Tampering with a signed sub-resource breaks the signature.
    const tampered = url.replace('attachment', 'inline');
    expect((await fetch(tampered)).status).toBe(403);
  });

  it('refuses an expired presigned URL with AccessDenied "Request has expired."', async () => {
    const res = await fetch(client.signatureUrl('doc.txt', { expires: -10 }));
    expect(res.status).toBe(403);
    const xml = await res.text();
    expect(xml).toContain('<Code>AccessDenied</Code>');
    expect(xml).toContain('<Message>Request has expired.</Message>');
  });

  it('accepts a presigned PUT signed with its Content-Type', async () => {
    const url = client.signatureUrl('uploaded.txt', {
      method: 'PUT',
      'Content-Type': 'text/plain',
      expires: 60,
    });
    const ok = await fetch(url, {
      method: 'PUT',
      body: 'via url',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(ok.status).toBe(200);
    expect(server.getObject('uploaded.txt')?.body.toString()).toBe('via url');
    const wrongType = await fetch(url, {
      method: 'PUT',
      body: 'x',
      headers: { 'Content-Type': 'text/html' },
    });
    expect(wrongType.status).toBe(403);
  });
});

describe('STS security tokens and credential rotation', () => {
  let server: OssServer;
  // A long refresh interval keeps ali-oss from warning that no refresher is configured.
  const sts = (opts: OSS.Options) => new OSS({ ...opts, refreshSTSTokenInterval: 3_600_000 } as OSS.Options);
  beforeAll(async () => {
    server = await startOssServer({ accessKeyId: 'STS.first', accessKeySecret: 's1', stsToken: 'token-1' });
    server.putObject('k', 'v');
  });
  afterAll(() => server.close());

  it('requires the token: refused without it, accepted with it, also on presigned URLs', async () => {
    const { stsToken: _drop, ...withoutToken } = server.clientOptions();
    const e = await ossError(sts(withoutToken).get('k'));
    expect([e.status, e.code]).toEqual([403, 'InvalidAccessKeyId']);

    const wrong = await ossError(sts({ ...server.clientOptions(), stsToken: 'forged' }).get('k'));
    expect([wrong.status, wrong.code]).toEqual([403, 'InvalidAccessKeyId']);

    const client = sts(server.clientOptions());
    expect((await client.get('k')).content.toString()).toBe('v');
    const url = client.signatureUrl('k', { expires: 60 });
    expect(new URL(url).searchParams.get('security-token')).toBe('token-1');
    expect((await fetch(url)).status).toBe(200);
  });

  it('after setCredentials, old tokens are SecurityTokenExpired and the new ones work', async () => {
    const old = sts(server.clientOptions());
    server.setCredentials({ accessKeyId: 'STS.second', accessKeySecret: 's2', stsToken: 'token-2' });
    const e = await ossError(old.get('k'));
    expect([e.status, e.code]).toEqual([403, 'SecurityTokenExpired']);
    expect(server.clientOptions().stsToken).toBe('token-2');
    expect((await sts(server.clientOptions()).get('k')).content.toString()).toBe('v');

    // An overlap window: both keys valid until the old one is revoked.
    const second = sts(server.clientOptions());
    server.addCredentials({ accessKeyId: 'STS.third', accessKeySecret: 's3', stsToken: 'token-3' });
    expect((await second.get('k')).res.status).toBe(200);
    server.revokeCredentials('STS.second');
    expect((await ossError(second.get('k'))).code).toBe('SecurityTokenExpired');
    expect((await sts(server.clientOptions()).get('k')).res.status).toBe(200);
  });

  it('refuses a token past its expiration', async () => {
    server.setCredentials({
      accessKeyId: 'STS.late',
      accessKeySecret: 's4',
      stsToken: 'token-4',
      expiration: new Date(Date.now() - 1000),
    });
    const e = await ossError(sts(server.clientOptions()).get('k'));
    expect([e.status, e.code]).toEqual([403, 'SecurityTokenExpired']);
  });
});

describe('ports', () => {
  let server: OssServer;
  beforeAll(async () => {
    server = await startOssServer({ ports: { public: 0, internal: 0, admin: 0 } });
  });
  afterAll(() => server.close());

  it('serves one store on every named port and counts requests per port', async () => {
    expect(Object.keys(server.endpoints)).toEqual(['public', 'internal', 'admin']);
    expect(new Set(Object.values(server.ports)).size).toBe(3);
    const pub = new OSS(server.clientOptions('public'));
    const internal = new OSS(server.clientOptions('internal'));
    await pub.put('shared', Buffer.from('12345'));
    server.resetStats();

    expect((await internal.get('shared')).content.toString()).toBe('12345');
    const stats = server.stats();
    expect(stats.internal).toMatchObject({ requests: 1, bytesIn: 0, bytesOut: 5, methods: { GET: 1 } });
    expect(stats.public?.requests).toBe(0);
    expect(stats.admin?.requests).toBe(0);
    expect(server.log.map((l) => [l.port, l.method, l.key, l.op, l.status])).toEqual([
      ['internal', 'GET', 'shared', 'GetObject', 200],
    ]);

    await pub.put('other', Buffer.from('abc'));
    expect(server.stats().public).toMatchObject({ requests: 1, bytesIn: 3, methods: { PUT: 1 } });
    expect(() => server.clientOptions('nope')).toThrow(/no port named/);
  });
});
