// A tiny app project in a temp dir (builtins only, so its bundle runs with no node_modules), with its own
// releases.yaml. ncc builds it in about a second, so tests build it instead of the real app.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface FixtureOptions {
  name?: string;
  /** Text the app answers on / (changing it changes the bundle). */
  message?: string;
  /** Bytes of incompressible data shipped as an asset, to make the artifact large (multipart tests). */
  blobBytes?: number;
  /** Extra source appended to the server (e.g. a planted credential). */
  extraSource?: string;
  registry?: Record<string, unknown>;
  /** app.runtime, e.g. { node: '22.23.5', from: <folder> } (test/support/node-runtimes.ts). */
  runtime?: Record<string, unknown>;
  publicKey?: string;
  environments?: Record<string, unknown>;
}

export interface FixtureApp {
  root: string;
  configFile: string;
  cleanup(): Promise<void>;
}

export async function makeFixtureApp(opts: FixtureOptions = {}): Promise<FixtureApp> {
  const root = await mkdtemp(join(tmpdir(), 'ferry-fixture-'));
  await mkdir(join(root, 'app'));
  const blob = opts.blobBytes
    ? `const blob = readFileSync(new URL('./blob.bin', import.meta.url));\n`
    : 'const blob = Buffer.alloc(0);\n';
  if (opts.blobBytes) await writeFile(join(root, 'app/blob.bin'), randomBytes(opts.blobBytes));
  await writeFile(
    join(root, 'app/server.ts'),
    `import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
${blob}const message: string = ${JSON.stringify(opts.message ?? 'hello from the fixture')};
const port = Number(process.env.PORT ?? 3000);
const server = createServer((req, res) => {
  if (req.url === '/healthz') res.end(JSON.stringify({ status: 'ok', blob: blob.length }));
  else res.end(message);
});
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  console.log('listening ' + (typeof addr === 'object' && addr ? addr.port : port));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
${opts.extraSource ?? ''}
`,
  );
  await writeFile(
    join(root, 'package.json'),
    JSON.stringify({ name: 'fixture', version: '1.0.0', type: 'module' }),
  );
  await writeFile(
    join(root, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'Bundler',
        rootDir: '.',
        strict: true,
        skipLibCheck: true,
        types: [],
      },
      include: ['app'],
    }),
  );
  const config = {
    app: {
      name: opts.name ?? 'fixture',
      entry: 'app/server.ts',
      port: 3000,
      ...(opts.runtime ? { runtime: opts.runtime } : {}),
    },
    registry: opts.registry ?? { type: 'local', path: '.ferry/registry' },
    ...(opts.publicKey ? { signing: { publicKey: opts.publicKey } } : {}),
    ...(opts.environments ? { environments: opts.environments } : {}),
  };
  const configFile = join(root, 'releases.yaml');
  await writeFile(configFile, stringify(config));
  return { root, configFile, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Collects what a stream-like sink receives, for main() tests. */
export function sink(isTTY = false): { write(s: string): boolean; text(): string; isTTY: boolean } {
  let buf = '';
  return {
    isTTY,
    write(s: string) {
      buf += s;
      return true;
    },
    text: () => buf,
  };
}
