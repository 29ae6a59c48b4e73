import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../../app/http/redact';

describe('redactUrl', () => {
  it.each([
    ['/v1/files?sig=abc&user=alice', '/v1/files?sig=[redacted]&user=alice'],
    ['/v1/files?%73ig=abc&expires=1', '/v1/files?%73ig=[redacted]&expires=1'],
    ['/v1/files?%73%69%67=abc', '/v1/files?%73%69%67=[redacted]'],
    [
      '/v1/files?access_token=t1&token=t2&jwt=t3',
      '/v1/files?access_token=[redacted]&token=[redacted]&jwt=[redacted]',
    ],
    ['/x?API_KEY=k&Secret=s&password=p', '/x?API_KEY=[redacted]&Secret=[redacted]&password=[redacted]'],
    ['/x?q=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl', '/x?q=[redacted]'],
    ['/x?note=Bearer%20abc', '/x?note=[redacted]'],
    [`/x?blob=${'A'.repeat(40)}`, '/x?blob=[redacted]'],
  ])('%s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it("keeps the service's own parameters readable", () => {
    const url = `/v1/files?limit=50&cursor=d01m8n3zf2s31p6dh0agtw2zjz7&category=images&user=${'u'.repeat(40)}`;
    expect(redactUrl(url)).toBe(url);
    expect(redactUrl('/healthz')).toBe('/healthz');
  });
});
