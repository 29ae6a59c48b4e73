// A loopback file server standing in for presigned registry URLs: streams files from a folder with a
// Content-Length, so the agent and curl download the same bytes the same way.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface StaticServer {
  url(key: string): string;
  close(): Promise<void>;
}

export async function startStaticServer(dir: string): Promise<StaticServer> {
  const server = createServer(async (req, res) => {
    const key = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1)));
    if (key.startsWith('..')) {
      res.writeHead(403).end();
      return;
    }
    const file = join(dir, key);
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
    // 1 MiB reads: the server should not be what limits a loopback download.
    createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (key) => `http://127.0.0.1:${port}/${key}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
