// The OSS stand-in, driven by the real ali-oss client: object operations, listings, multipart.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OSS from 'ali-oss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OssServer, startOssServer } from './oss-server';

// An independent, bit-at-a-time CRC-64/XZ so the server's table-driven one is checked, not echoed.
function referenceCrc64(data: Uint8Array): bigint {
  const poly = 0xc96c5795d7870f42n;
  let crc = 0xffffffffffffffffn;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let i = 0; i < 8; i++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc ^ 0xffffffffffffffffn;
}

const md5hex = (b: Uint8Array) => createHash('md5').update(b).digest('hex').toUpperCase();
/** @types/ali-oss types response headers as {}; they are plain lowercase strings. */
const headersOf = (r: { res: unknown }) => (r.res as { headers: Record<string, string> }).headers;
/** @types/ali-oss insists meta has uid/pid; OSS itself takes any x-oss-meta-*. */
const withMeta = <T>(o: object) => o as unknown as T;

async function ossError(p: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: { status: number; code: string; message: string }) => err,
  );
  if (!e) throw new Error('expected the OSS call to fail');
  return e;
}

// ali-oss' listV2 is missing from @types/ali-oss.
interface ListV2Result {
  objects: { name: string; size: number; etag: string }[];
  prefixes: string[] | null;
  isTruncated: boolean;
  keyCount: number;
  nextContinuationToken: string | null;
}
const listV2 = (c: OSS, q: Record<string, unknown>): Promise<ListV2Result> =>
  (c as unknown as { listV2(q: unknown): Promise<ListV2Result> }).listV2(q);

let server: OssServer;
let client: OSS;
let dir: string;

beforeAll(async () => {
  server = await startOssServer({ extraBuckets: ['ferry-archive'] });
  client = new OSS(server.clientOptions());
  dir = await mkdtemp(join(tmpdir(), 'ferry-oss-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('CRC-64/ECMA', () => {
  it('matches the CRC-64/XZ check value and an independent implementation', async () => {
    expect(referenceCrc64(Buffer.from('123456789'))).toBe(11051210869376104954n);
    const put = await client.put('crc/check', Buffer.from('123456789'));
    expect(headersOf(put)['x-oss-hash-crc64ecma']).toBe('11051210869376104954');
    const body = randomBytes(70_000);
    const big = await client.put('crc/random', body);
    expect(headersOf(big)['x-oss-hash-crc64ecma']).toBe(referenceCrc64(body).toString());
  });
});

describe('PutObject / GetObject / HeadObject', () => {
  it('stores the body, metadata and content type, and replays them', async () => {
    const body = Buffer.from('release manifest');
    const put = await client.put(
      'obj/manifest.json',
      body,
      withMeta<OSS.PutObjectOptions>({ meta: { release: 'r42', sha: 'abc' }, mime: 'application/json' }),
    );
    const etag = `"${md5hex(body)}"`;
    expect(headersOf(put)['etag']).toBe(etag);

    const got = await client.get('obj/manifest.json');
    expect(Buffer.from(got.content).equals(body)).toBe(true);
    const h = headersOf(got);
    expect(h['content-type']).toBe('application/json');
    expect(h['x-oss-meta-release']).toBe('r42');
    expect(h['etag']).toBe(etag);
    expect(h['x-oss-hash-crc64ecma']).toBe(referenceCrc64(body).toString());
    expect(h['x-oss-object-type']).toBe('Normal');
    expect(h['accept-ranges']).toBe('bytes');
    expect(h['x-oss-request-id']).toMatch(/^[0-9A-F]{24}$/);
    expect(Date.parse(h['last-modified'] ?? '')).not.toBeNaN();

    const head = await client.head('obj/manifest.json');
    expect(head.meta).toEqual({ release: 'r42', sha: 'abc' });
    expect(headersOf(head)['content-length']).toBe(String(body.length));
    expect(server.getObject('obj/manifest.json')?.meta).toEqual({ release: 'r42', sha: 'abc' });
  });

  it('refuses a body whose Content-MD5 does not match with InvalidDigest', async () => {
    const wrong = createHash('md5').update('something else').digest('base64');
    const e = await ossError(
      client.put('obj/bad-md5', Buffer.from('payload'), { headers: { 'Content-MD5': wrong } }),
    );
    expect([e.status, e.code]).toEqual([400, 'InvalidDigest']);
    expect(server.getObject('obj/bad-md5')).toBeUndefined();
  });

  it('honours x-oss-forbid-overwrite with 409 FileAlreadyExists', async () => {
    const forbid = { headers: { 'x-oss-forbid-overwrite': 'true' } };
    await client.put('obj/once', Buffer.from('first'), forbid);
    const e = await ossError(client.put('obj/once', Buffer.from('second'), forbid));
    expect([e.status, e.code]).toEqual([409, 'FileAlreadyExists']);
    expect(server.getObject('obj/once')?.body.toString()).toBe('first');
  });

  it('answers NoSuchKey with an XML error on GET and an empty 404 on HEAD', async () => {
    const e = await ossError(client.get('obj/missing'));
    expect([e.status, e.code]).toEqual([404, 'NoSuchKey']);
    const res = await fetch(client.signatureUrl('obj/missing', { method: 'HEAD' as 'GET' }), {
      method: 'HEAD',
    });
    expect(res.status).toBe(404);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    expect(Buffer.from(res.headers.get('x-oss-err') ?? '', 'base64').toString()).toContain(
      '<Code>NoSuchKey</Code>',
    );
  });

  it('round-trips keys with spaces, plus signs and non-ASCII characters', async () => {
    const key = 'obj/dir with space/文件+v1 (1).txt';
    await client.put(key, Buffer.from('x'));
    expect((await client.get(key)).content.toString()).toBe('x');
    const listed = await listV2(client, { prefix: 'obj/dir with space/' });
    expect(listed.objects.map((o) => o.name)).toEqual([key]);
  });
});

describe('Range reads (OSS semantics)', () => {
  const body = Buffer.from('0123456789abcdef');
  beforeAll(async () => {
    await client.put('range/obj', body);
  });
  const get = (range: string, standard = false) =>
    client.get('range/obj', {
      headers: { Range: range, ...(standard ? { 'x-oss-range-behavior': 'standard' } : {}) },
    });

  it('serves a satisfiable range as 206 with exact bytes and Content-Range', async () => {
    const r = await get('bytes=2-5');
    expect(r.res.status).toBe(206);
    expect(r.content.toString()).toBe('2345');
    expect(headersOf(r)['content-range']).toBe('bytes 2-5/16');
    expect((await get('bytes=-3')).content.toString()).toBe('def');
  });

  it('ignores an out-of-range Range by default (200, whole object), as OSS does', async () => {
    const r = await get('bytes=10-99');
    expect(r.res.status).toBe(200);
    expect(Buffer.from(r.content).equals(body)).toBe(true);
  });

  it('with x-oss-range-behavior: standard, clips the end and answers 416 InvalidRange past the end', async () => {
    const clipped = await get('bytes=10-99', true);
    expect([clipped.res.status, clipped.content.toString()]).toEqual([206, 'abcdef']);
    const e = await ossError(get('bytes=16-20', true));
    expect([e.status, e.code]).toEqual([416, 'InvalidRange']);
  });
});

describe('DeleteObject / DeleteMultipleObjects / CopyObject', () => {
  it('deletes with 204, also when the key is absent', async () => {
    await client.put('del/one', Buffer.from('1'));
    expect((await client.delete('del/one')).res.status).toBe(204);
    expect((await client.delete('del/never-existed')).res.status).toBe(204);
    expect(server.getObject('del/one')).toBeUndefined();
  });

  it('deletes many keys, listing them unless quiet', async () => {
    for (const k of ['del/a', 'del/b', 'del/c & d']) server.putObject(k, k);
    const verbose = await client.deleteMulti(['del/a', 'del/c & d']);
    expect((verbose.deleted ?? []).map((d) => (d as unknown as { Key: string }).Key).sort()).toEqual([
      'del/a',
      'del/c & d',
    ]);
    const quiet = await client.deleteMulti(['del/b'], { quiet: true });
    expect(quiet.deleted).toEqual([]);
    expect(['del/a', 'del/b', 'del/c & d'].map((k) => server.getObject(k))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('copies body, ETag and metadata; REPLACE takes new metadata; a missing source is NoSuchKey', async () => {
    await client.put(
      'copy/src',
      Buffer.from('payload'),
      withMeta<OSS.PutObjectOptions>({ meta: { v: '1' } }),
    );
    const copied = await client.copy('copy/dst', 'copy/src');
    expect(copied.res.status).toBe(200);
    const dst = server.getObject('copy/dst');
    expect(dst?.body.toString()).toBe('payload');
    expect(dst?.etag).toBe(server.getObject('copy/src')?.etag);
    expect(dst?.meta).toEqual({ v: '1' });
    await client.copy('copy/dst2', 'copy/src', withMeta<OSS.CopyObjectOptions>({ meta: { v: '2' } }));
    expect(server.getObject('copy/dst2')?.meta).toEqual({ v: '2' });
    const e = await ossError(client.copy('copy/x', 'copy/nope'));
    expect([e.status, e.code]).toEqual([404, 'NoSuchKey']);
  });
});

describe('several buckets', () => {
  it('routes by a <bucket>.<host> Host header, as ali-oss sends for IP endpoints, and copies across buckets', async () => {
    const { accessKeyId, accessKeySecret } = server.clientOptions();
    const archive = new OSS({
      accessKeyId,
      accessKeySecret,
      bucket: 'ferry-archive',
      endpoint: `http://127.0.0.1:${server.ports.public}`,
    });
    await archive.put('kept', Buffer.from('archived'));
    expect(server.getObject('kept', 'ferry-archive')?.body.toString()).toBe('archived');
    expect(server.getObject('kept')).toBeUndefined();

    await client.copy('copy/from-archive', 'kept', 'ferry-archive');
    expect(server.getObject('copy/from-archive')?.body.toString()).toBe('archived');
    const e = await ossError(client.copy('copy/x', 'kept', 'no-such-bucket'));
    expect([e.status, e.code]).toEqual([404, 'NoSuchBucket']);
  });
});

describe('listings', () => {
  const keys = ['list/a/1', 'list/a/2', 'list/b', 'list/c/1', 'list/d'];
  beforeAll(() => {
    for (const k of keys) server.putObject(k, k);
  });

  it('ListObjectsV2 groups by delimiter, counts prefixes toward max-keys and pages by token', async () => {
    const first = await listV2(client, { prefix: 'list/', delimiter: '/', 'max-keys': 2 });
    expect(first.prefixes).toEqual(['list/a/']);
    expect(first.objects.map((o) => o.name)).toEqual(['list/b']);
    expect([first.keyCount, first.isTruncated]).toEqual([2, true]);
    const second = await listV2(client, {
      prefix: 'list/',
      delimiter: '/',
      'max-keys': 2,
      'continuation-token': first.nextContinuationToken,
    });
    expect(second.prefixes).toEqual(['list/c/']);
    expect(second.objects.map((o) => o.name)).toEqual(['list/d']);
    expect([second.isTruncated, second.nextContinuationToken]).toEqual([false, null]);
  });

  it('ListObjectsV2 walks every key in order without a delimiter and honours start-after', async () => {
    const seen: string[] = [];
    let token: string | null = null;
    do {
      const page: ListV2Result = await listV2(client, {
        prefix: 'list/',
        'max-keys': 2,
        'continuation-token': token,
      });
      seen.push(...page.objects.map((o) => o.name));
      token = page.nextContinuationToken;
    } while (token);
    expect(seen).toEqual(keys);
    const after = await listV2(client, { prefix: 'list/', 'start-after': 'list/b' });
    expect(after.objects.map((o) => o.name)).toEqual(['list/c/1', 'list/d']);
  });

  it('ListObjects (v1, ali-oss list()) pages with marker / NextMarker', async () => {
    const first = await client.list({ prefix: 'list/', 'max-keys': 3 }, {});
    expect(first.objects.map((o) => o.name)).toEqual(keys.slice(0, 3));
    expect(first.isTruncated).toBe(true);
    const rest = await client.list({ prefix: 'list/', 'max-keys': 3, marker: first.nextMarker ?? '' }, {});
    expect(rest.objects.map((o) => o.name)).toEqual(keys.slice(3));
    expect(rest.isTruncated).toBe(false);
  });

  it('rejects max-keys outside 1..1000 with InvalidArgument', async () => {
    const e = await ossError(listV2(client, { 'max-keys': 5000 }));
    expect([e.status, e.code]).toEqual([400, 'InvalidArgument']);
  });
});

describe('multipart upload', () => {
  it('multipartUpload of a ~1 MiB file yields the whole body and an OSS multipart ETag', async () => {
    const body = randomBytes(1024 * 1024 + 12_345);
    const file = join(dir, 'big.bin');
    await writeFile(file, body);
    const partSize = 200 * 1024;
    const r = await client.multipartUpload('mp/big.bin', file, { partSize });
    const parts: Buffer[] = [];
    for (let off = 0; off < body.length; off += partSize) parts.push(body.subarray(off, off + partSize));
    const expected = `"${md5hex(Buffer.concat(parts.map((p) => createHash('md5').update(p).digest())))}-${parts.length}"`;
    expect(r.etag).toBe(expected);
    const stored = server.getObject('mp/big.bin');
    expect(stored?.body.equals(body)).toBe(true);
    expect(stored?.type).toBe('Multipart');
    const got = await client.get('mp/big.bin');
    expect(Buffer.from(got.content).equals(body)).toBe(true);
    expect(headersOf(got)['x-oss-hash-crc64ecma']).toBe(referenceCrc64(body).toString());
    expect(server.uploads().size).toBe(0);
  });

  it('checks parts on completion: EntityTooSmall, InvalidPart, InvalidPartOrder', async () => {
    const file = join(dir, 'small.bin');
    await writeFile(file, randomBytes(4096));
    const { uploadId } = await client.initMultipartUpload('mp/checked');
    const p1 = await client.uploadPart('mp/checked', uploadId, 1, file, 0, 2048);
    const p2 = await client.uploadPart('mp/checked', uploadId, 2, file, 2048, 4096);
    expect(p1.etag).toMatch(/^"[0-9A-F]{32}"$/);

    const small = await ossError(
      client.completeMultipartUpload('mp/checked', uploadId, [
        { number: 1, etag: p1.etag },
        { number: 2, etag: p2.etag },
      ]),
    );
    expect([small.status, small.code]).toEqual([400, 'EntityTooSmall']);

    const wrongTag = await ossError(
      client.completeMultipartUpload('mp/checked', uploadId, [{ number: 1, etag: p2.etag }]),
    );
    expect([wrongTag.status, wrongTag.code]).toEqual([400, 'InvalidPart']);

    // ali-oss sorts parts itself, so the out-of-order body goes through its signed request path.
    const raw = client as unknown as {
      _objectRequestParams(m: string, k: string, o: unknown): Record<string, unknown>;
      request(p: unknown): Promise<unknown>;
    };
    const params = raw._objectRequestParams('POST', 'mp/checked', { subres: { uploadId } });
    params.mime = 'xml';
    params.content = Buffer.from(
      `<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>${p2.etag}</ETag></Part>` +
        `<Part><PartNumber>1</PartNumber><ETag>${p1.etag}</ETag></Part></CompleteMultipartUpload>`,
    );
    params.successStatuses = [200];
    const order = await ossError(raw.request(params));
    expect([order.status, order.code]).toEqual([400, 'InvalidPartOrder']);

    // A single (last) part may be small.
    const done = await client.completeMultipartUpload('mp/checked', uploadId, [{ number: 1, etag: p1.etag }]);
    expect((done as unknown as { res: { status: number } }).res.status).toBe(200);
    expect(server.getObject('mp/checked')?.body.length).toBe(2048);
  });

  it('aborts with 204, after which the upload is NoSuchUpload; complete honours forbid-overwrite', async () => {
    const file = join(dir, 'tiny.bin');
    await writeFile(file, Buffer.from('tiny'));
    const { uploadId } = await client.initMultipartUpload('mp/aborted');
    expect(server.uploads().has(uploadId)).toBe(true);
    const aborted = await client.abortMultipartUpload('mp/aborted', uploadId);
    expect((aborted as unknown as { res: { status: number } }).res.status).toBe(204);
    const gone = await ossError(client.uploadPart('mp/aborted', uploadId, 1, file, 0, 4));
    expect([gone.status, gone.code]).toEqual([404, 'NoSuchUpload']);

    server.putObject('mp/existing', 'keep me');
    const up = await client.initMultipartUpload('mp/existing');
    const part = await client.uploadPart('mp/existing', up.uploadId, 1, file, 0, 4);
    const e = await ossError(
      client.completeMultipartUpload('mp/existing', up.uploadId, [{ number: 1, etag: part.etag }], {
        headers: { 'x-oss-forbid-overwrite': 'true' },
      }),
    );
    expect([e.status, e.code]).toEqual([409, 'FileAlreadyExists']);
    expect(server.getObject('mp/existing')?.body.toString()).toBe('keep me');
  });
});

describe('ACLs, bucket info and unsupported operations', () => {
  it('sets and reads object ACLs; public-read objects are readable without a signature', async () => {
    await client.put('acl/open', Buffer.from('public'));
    await client.put('acl/closed', Buffer.from('private'));
    expect((await client.getACL('acl/open')).acl).toBe('default');
    await client.putACL('acl/open', 'public-read');
    expect((await client.getACL('acl/open')).acl).toBe('public-read');

    const open = await fetch(`${server.endpoints.public}/acl/open`);
    expect([open.status, await open.text()]).toEqual([200, 'public']);
    const closed = await fetch(`${server.endpoints.public}/acl/closed`);
    expect(closed.status).toBe(403);
    expect(await closed.text()).toContain('<Code>AccessDenied</Code>');
  });

  it('answers getBucketInfo for reachability checks', async () => {
    const info = await client.getBucketInfo(server.bucket);
    expect(info.bucket.Name).toBe(server.bucket);
  });

  it('refuses sub-resources it does not implement with 501 NotImplemented', async () => {
    await client.put('strict/obj', Buffer.from('x'));
    const tagging = client as unknown as { getObjectTagging(key: string): Promise<unknown> };
    const e = await ossError(tagging.getObjectTagging('strict/obj'));
    expect([e.status, e.code]).toEqual([501, 'NotImplemented']);
  });
});
