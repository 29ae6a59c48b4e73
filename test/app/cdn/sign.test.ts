import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdnAuthKey, cdnTimestamp, signCdnUrl } from '../../../app/cdn/sign';
import { type Backend, type RunningApp, startApp, startBackend, upload } from '../support';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('Alibaba Cloud CDN URL authentication, type A', () => {
  it('matches the documented example inputs', () => {
    // Alibaba's type-A example: path /video/standard/1K.html, key aliyuncdnexp1234,
    // timestamp 1444435200 (= 0x56185500), rand 0, uid 0. The hash the brief quotes for it
    // (23bf85053008f5c0e791667a313e28ce) is not what MD5 of the documented string gives, so the
    // check is against MD5 computed here, independently, over the documented sstring.
    const sstring = '/video/standard/1K.html-1444435200-0-0-aliyuncdnexp1234';
    expect(md5(sstring)).toBe('80cd3862d699b7118eed99103f2a3a4f');
    expect(cdnAuthKey('/video/standard/1K.html', 1444435200, '0', '0', 'aliyuncdnexp1234')).toBe(
      `1444435200-0-0-${md5(sstring)}`,
    );
    expect(
      signCdnUrl({
        domain: 'cdn.example.com',
        path: '/video/standard/1K.html',
        privateKey: 'aliyuncdnexp1234',
        timestamp: 1444435200,
        rand: '0',
      }),
    ).toBe(`https://cdn.example.com/video/standard/1K.html?auth_key=1444435200-0-0-${md5(sstring)}`);
  });

  it('uses a dashless UUID as rand by default and keeps an explicit scheme', () => {
    const url = new URL(
      signCdnUrl({ domain: 'http://cdn.test/', path: '/a/b', privateKey: 'k12345', timestamp: 100 }),
    );
    expect(url.origin).toBe('http://cdn.test');
    const [ts, rand, uid, hash] = url.searchParams.get('auth_key')!.split('-');
    expect([ts, uid]).toEqual(['100', '0']);
    expect(rand).toMatch(/^[0-9a-f]{32}$/);
    expect(hash).toBe(md5(`/a/b-100-${rand}-0-k12345`));
  });

  it('sets the timestamp so the URL expires when asked, given the console validity period', () => {
    expect(cdnTimestamp(1_000_000, 600, 1800)).toBe(1_000_000 + 600 - 1800);
  });
});

describe('GET /v1/files/{id}/url with a CDN configured', () => {
  let backend: Backend;
  let svc: RunningApp;
  beforeAll(async () => {
    backend = await startBackend('oss');
    svc = await startApp(backend, {
      CDN_DOMAIN: 'files.example.cn',
      CDN_AUTH_KEY: 'aliyuncdnexp1234',
      CDN_AUTH_TTL_SECONDS: '1800',
    });
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });

  it('returns a CDN URL for the object key, signed as the CDN will check it', async () => {
    const f = await upload(svc, 'alice', 'movie.mp4', 'frames');
    const before = Math.floor(Date.now() / 1000);
    const res = await fetch(`${svc.base}/v1/files/${f.id}/url?expires=600`, {
      headers: await svc.auth('alice'),
    });
    const body = (await res.json()) as { url: string; via: string };
    expect(body.via).toBe('cdn');
    const url = new URL(body.url);
    expect(url.host).toBe('files.example.cn');
    expect(url.protocol).toBe('https:');
    const key = url.pathname.slice(1);
    expect(backend.oss!.getObject(key)).toBeDefined();
    const [ts, rand, uid, hash] = url.searchParams.get('auth_key')!.split('-') as [
      string,
      string,
      string,
      string,
    ];
    // Valid until timestamp + console TTL = now + 600.
    expect(Number(ts) + 1800 - before).toBeGreaterThanOrEqual(599);
    expect(Number(ts) + 1800 - before).toBeLessThanOrEqual(602);
    expect(uid).toBe('0');
    expect(hash).toBe(md5(`${url.pathname}-${ts}-${rand}-0-aliyuncdnexp1234`));
  });
});
