// One small HTTP request with a timeout, a capped body and no connection pooling: the metadata service
// and OSS calls made by the host agent are few, and a pooled socket must not keep a oneshot run alive.
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  timeoutMs?: number;
  /** Bodies larger than this are an error (default 4 MiB). */
  maxBytes?: number;
}

export function httpRequest(url: string | URL, opts: HttpRequestOptions = {}): Promise<HttpResponse> {
  const u = typeof url === 'string' ? new URL(url) : url;
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return Promise.reject(new Error(`unsupported URL scheme ${u.protocol}`));
  }
  const request = u.protocol === 'https:' ? https.request : http.request;
  const maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.body) headers['content-length'] = String(opts.body.length);
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      { method: opts.method ?? 'GET', headers, agent: false, timeout: opts.timeoutMs ?? 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            res.destroy(new Error(`response from ${u.host} is larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          if (!res.complete) reject(new Error(`response from ${u.host} was cut short`));
          else resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no response from ${u.host} within ${opts.timeoutMs ?? 10_000} ms`)),
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
