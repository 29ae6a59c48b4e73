// Fault injection on the OSS stand-in: what a client really sees for each kind of fault.
import { createHash, randomBytes } from 'node:crypto';
import { get as httpGet } from 'node:http';
import OSS from 'ali-oss';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OssServer, startOssServer } from './oss-server';

async function ossError(p: Promise<unknown>): Promise<{ status: number; code: string; name: string }> {
  const e = await p.then(
    () => undefined,
    (err: { status: number; code: string; name: string }) => err,
  );
  if (!e) throw new Error('expected the OSS call to fail');
  return e;
}

/** A raw GET that reports what arrived before the connection ended, and how it ended. */
function rawGet(url: string): Promise<{ status: number; length: number; received: number; error?: string }> {
  return new Promise((resolve, reject) => {
    let finish: ((error?: string) => void) | undefined;
    const req = httpGet(url, { agent: false }, (res) => {
      let received = 0;
      finish = (error) =>
        resolve({
          status: res.statusCode ?? 0,
          length: Number(res.headers['content-length']),
          received,
          error,
        });
      res.on('data', (c: Buffer) => {
        received += c.length;
      });
      res.on('error', (e) => finish?.(e.message));
      res.on('aborted', () => finish?.('aborted'));
      res.on('end', () => finish?.());
    });
    // After the headers arrived, a socket error is the outcome under test, not a failure.
    req.on('error', (e) => (finish ? finish(e.message) : reject(e)));
  });
}

let server: OssServer;
let client: OSS;
const body = randomBytes(64 * 1024);
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex').toUpperCase();

beforeAll(async () => {
  server = await startOssServer();
  client = new OSS(server.clientOptions());
  server.putObject('blob', body);
});
afterEach(() => {
  server.faults.clear();
});
afterAll(() => server.close());

describe('failNext', () => {
  it('answers the next requests with an OSS 503 error document, then recovers', async () => {
    server.faults.failNext(2);
    for (let i = 0; i < 2; i++) {
      const e = await ossError(client.get('blob'));
      expect([e.status, e.code]).toEqual([503, 'ServiceUnavailable']);
    }
    expect((await client.get('blob')).res.status).toBe(200);
    expect(server.faults.remaining().fail).toBe(0);
    expect(server.log.filter((l) => l.fault === 'fail').length).toBeGreaterThanOrEqual(2);
  });

  it('uses the status given and only hits requests matching the filter', async () => {
    server.faults.failNext(1, 500, { method: 'PUT', key: 'uploads/' });
    expect((await client.get('blob')).res.status).toBe(200);
    expect((await client.put('other/x', Buffer.from('x'))).res.status).toBe(200);
    const e = await ossError(client.put('uploads/x', Buffer.from('x')));
    expect([e.status, e.code]).toEqual([500, 'InternalError']);
    expect(server.getObject('uploads/x')).toBeUndefined();
  });

  it('can target one port only', async () => {
    server.faults.failNext(1, 503, { port: 'internal' });
    expect((await client.get('blob')).res.status).toBe(200);
    const internal = new OSS(server.clientOptions('internal'));
    expect((await ossError(internal.get('blob'))).status).toBe(503);
  });
});

describe('resetNext', () => {
  it('sends headers and part of a GET body, then resets the connection', async () => {
    server.faults.resetNext(1, { afterBytes: 1000 });
    const url = client.signatureUrl('blob', { expires: 60 });
    const cut = await rawGet(url);
    expect(cut.status).toBe(200);
    expect(cut.length).toBe(body.length);
    expect(cut.received).toBe(1000);
    expect(cut.error).toBeDefined();
    const whole = await rawGet(url);
    expect([whole.received, whole.error]).toEqual([body.length, undefined]);
  });

  it('makes the ali-oss download fail rather than return a short body', async () => {
    server.faults.resetNext(1);
    await expect(client.get('blob')).rejects.toBeDefined();
    expect(server.log.at(-1)).toMatchObject({ op: 'GetObject', fault: 'reset', bytesOut: body.length / 2 });
    expect(Buffer.from((await client.get('blob')).content).equals(body)).toBe(true);
  });

  it('on a PUT, drops the connection before answering; ali-oss retryMax then recovers', async () => {
    server.faults.resetNext(1, { method: 'PUT' });
    const e = await ossError(client.put('reset/put', Buffer.from('data')));
    expect(e.status).toBe(-1);
    server.faults.resetNext(1, { method: 'PUT' });
    const retrying = new OSS({ ...server.clientOptions(), retryMax: 2 } as OSS.Options);
    expect((await retrying.put('reset/put', Buffer.from('data'))).res.status).toBe(200);
    expect(server.getObject('reset/put')?.body.toString()).toBe('data');
  });
});

describe('latency and corruption', () => {
  it('delays matching responses', async () => {
    server.faults.latency(300, { method: 'GET' });
    const started = Date.now();
    await client.get('blob');
    // Loose lower bound only: the point is that the delay happens, not how precise it is.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('flips bytes in a download while headers still describe the stored object', async () => {
    server.faults.corruptNext(1);
    const bad = await client.get('blob');
    const content = Buffer.from(bad.content);
    expect(content.length).toBe(body.length);
    expect(content.equals(body)).toBe(false);
    expect((bad.res.headers as Record<string, string>)['etag']).toBe(`"${md5(body)}"`);
    expect(md5(content)).not.toBe(md5(body));
    expect(server.getObject('blob')?.body.equals(body)).toBe(true);
    expect(Buffer.from((await client.get('blob')).content).equals(body)).toBe(true);
  });
});

describe('random', () => {
  async function run(seed: number): Promise<boolean[]> {
    server.faults.random({ rate: 0.4, kinds: ['503'], seed, filter: { op: 'GetObject' } });
    const outcomes: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      outcomes.push(
        await client.get('blob').then(
          () => true,
          () => false,
        ),
      );
    }
    server.faults.clear();
    return outcomes;
  }

  it('fails some requests, reproducibly for a seed', async () => {
    const first = await run(7);
    const failures = first.filter((ok) => !ok).length;
    expect(failures).toBeGreaterThan(0);
    expect(failures).toBeLessThan(20);
    expect(await run(7)).toEqual(first);
  });

  it('draws resets and slow responses too, and logs which fault each request got', async () => {
    server.resetStats();
    server.faults.random({ rate: 1, kinds: ['reset'], seed: 3 });
    await expect(client.get('blob')).rejects.toBeDefined();
    server.faults.random({ rate: 1, kinds: ['slow'], slowMs: 50, seed: 3 });
    expect((await client.get('blob')).res.status).toBe(200);
    server.faults.random({ rate: 0 });
    expect((await client.get('blob')).res.status).toBe(200);
    expect(server.log.map((l) => l.fault)).toEqual(['reset', 'slow', undefined]);
  });
});

describe('resetNext mode fin', () => {
  it('closes cleanly after a short body, which a raw client sees as a truncated response', async () => {
    server.faults.resetNext(1, { afterBytes: 10, mode: 'fin' });
    const cut = await rawGet(client.signatureUrl('blob', { expires: 60 }));
    expect([cut.status, cut.received]).toEqual([200, 10]);
    expect(cut.error).toBeDefined();
  });
});
