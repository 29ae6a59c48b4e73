// Loopback stand-ins for the two places Node builds are downloaded from, serving the real builds of
// ./node-runtimes.ts on 127.0.0.1:
//   a Node download mirror in the nodejs.org/dist layout:  /dist/index.json,
//     /dist/v<version>/SHASUMS256.txt, /dist/v<version>/node-v<version>-linux-<arch>.tar.gz (and .tar.xz
//     for 22.23.5 x64)
//   an npm registry:  /npm/node-linux-<arch> (abbreviated packument with dist.tarball + dist.integrity),
//     /npm/node-linux-<arch>/-/node-linux-<arch>-<version>.tgz
// Every request is logged, and a path can be made to serve corrupted bytes, so tests see what was
// fetched and how a bad download is handled.
//   const m = await startNodeMirror();
//   app.runtime.from: m.template('gz')   or   `npm:${m.npmRegistry}`
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  npmTarball,
  officialTarball,
  sha256File,
  shasums,
  TEST_RUNTIMES,
  type TestArch,
  type TestRuntimeSpec,
} from './node-runtimes';

export interface NodeMirror {
  /** http://127.0.0.1:<port> */
  base: string;
  /** A URL template for app.runtime.from, e.g. http://127.0.0.1:1234/dist/v{version}/node-v{version}-linux-{arch}.tar.gz */
  template(ext?: 'gz' | 'xz'): string;
  /** For `from: npm:<registry>`. */
  npmRegistry: string;
  /** Paths requested (GET), in order. */
  log: string[];
  /** Serve these paths with one byte flipped (same length), as a broken mirror would. */
  corrupt: Set<string>;
  close(): Promise<void>;
}

export interface MirrorOptions {
  runtimes?: readonly TestRuntimeSpec[];
  /** Also serve .tar.xz for these (xz compression of a 125 MB binary takes a few seconds, once). */
  xz?: readonly TestRuntimeSpec[];
}

export async function startNodeMirror(opts: MirrorOptions = {}): Promise<NodeMirror> {
  const runtimes = opts.runtimes ?? TEST_RUNTIMES;
  const xz = opts.xz ?? [{ version: '22.23.5', arch: 'x64' }];
  const files = new Map<string, string>(); // URL path -> file on disk
  const versions = [...new Set(runtimes.map((r) => r.version))];
  for (const v of versions) {
    const here: string[] = [];
    for (const r of runtimes.filter((x) => x.version === v)) {
      here.push(await officialTarball(v, r.arch, 'gz'));
      if (xz.some((x) => x.version === v && x.arch === r.arch))
        here.push(await officialTarball(v, r.arch, 'xz'));
    }
    for (const f of here) files.set(`/dist/v${v}/${f.slice(f.lastIndexOf('/') + 1)}`, f);
    files.set(`/dist/v${v}/SHASUMS256.txt`, `text:${await shasums(here)}`);
  }
  const index = versions.map((v) => ({
    version: `v${v}`,
    date: '2026-01-01',
    files: runtimes.filter((r) => r.version === v).map((r) => `linux-${r.arch}`),
  }));
  files.set('/dist/index.json', `text:${JSON.stringify(index)}`);
  const integrity = new Map<string, string>();
  for (const r of runtimes) {
    const tgz = npmTarball(r.version, r.arch);
    integrity.set(tgz, `sha512-${Buffer.from(await sha256File(tgz, 'sha512'), 'hex').toString('base64')}`);
    files.set(`/npm/node-linux-${r.arch}/-/node-linux-${r.arch}-${r.version}.tgz`, tgz);
  }

  const log: string[] = [];
  const corrupt = new Set<string>();
  let base = '';
  const packument = (arch: TestArch) => ({
    name: `node-linux-${arch}`,
    'dist-tags': { latest: versions[versions.length - 1] },
    versions: Object.fromEntries(
      runtimes
        .filter((r) => r.arch === arch)
        .map((r) => {
          const tgz = npmTarball(r.version, r.arch);
          return [
            r.version,
            {
              name: `node-linux-${arch}`,
              version: r.version,
              bin: { node: 'bin/node' },
              dist: {
                tarball: `${base}/npm/node-linux-${arch}/-/node-linux-${arch}-${r.version}.tgz`,
                integrity: integrity.get(tgz),
              },
            },
          ];
        }),
    ),
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    log.push(path);
    const pkg = /^\/npm\/node-linux-(x64|arm64)$/.exec(path);
    if (req.method === 'GET' && pkg) {
      res.writeHead(200, { 'content-type': 'application/vnd.npm.install-v1+json' });
      res.end(JSON.stringify(packument(pkg[1] as TestArch)));
      return;
    }
    const file = files.get(path);
    if (req.method !== 'GET' || file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    if (file.startsWith('text:')) {
      res.writeHead(200, { 'content-type': path.endsWith('.json') ? 'application/json' : 'text/plain' });
      res.end(file.slice(5));
      return;
    }
    const { size } = await stat(file);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    if (corrupt.has(path)) {
      const bytes = await readFile(file);
      bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
      res.end(bytes);
      return;
    }
    createReadStream(file).pipe(res);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    template: (ext = 'gz') => `${base}/dist/v{version}/node-v{version}-linux-{arch}.tar.${ext}`,
    npmRegistry: `${base}/npm`,
    log,
    corrupt,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
