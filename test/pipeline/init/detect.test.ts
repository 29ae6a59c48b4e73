import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  appNameFrom,
  ciFromRemote,
  defaultPortIn,
  detectProject,
  entryCandidates,
  entryFromStartScript,
  healthPathIn,
  pickEntry,
  readsPortEnv,
} from '../../../pipeline/init/detect';

describe('entryFromStartScript', () => {
  it.each([
    ['node server.js', 'server.js'],
    ['node --enable-source-maps dist/index.js', 'dist/index.js'],
    ['NODE_ENV=production node ./app.js', 'app.js'],
    ['node -r dotenv/config src/main.js', 'src/main.js'],
    ['tsx src/server.ts', 'src/server.ts'],
    ['ts-node --transpile-only src/app.ts', 'src/app.ts'],
    ['npm run build && node dist/main.mjs', 'dist/main.mjs'],
    ['node lib', 'lib'],
  ])('%s → %s', (script, entry) => {
    expect(entryFromStartScript(script)).toBe(entry);
  });

  it.each(['next start', 'react-scripts start', 'echo hi', 'node -e "1"'])('%s → nothing', (script) => {
    expect(entryFromStartScript(script)).toBeNull();
  });
});

describe('entryCandidates and pickEntry', () => {
  it('trusts scripts.start, then main, then the first bin', () => {
    expect(
      entryCandidates({ main: 'index.js', bin: { a: './cli.js' }, scripts: { start: 'node srv.js' } }),
    ).toEqual([
      { path: 'srv.js', source: 'scripts.start' },
      { path: 'index.js', source: 'main' },
      { path: 'cli.js', source: 'bin' },
    ]);
  });

  it('maps a compiled path that is not built yet to its TypeScript source', () => {
    const files = new Set(['src/server.ts']);
    expect(pickEntry([{ path: 'dist/server.js', source: 'main' }], (p) => files.has(p))).toEqual({
      path: 'src/server.ts',
      source: 'main',
    });
  });

  it('resolves a folder main to its index, skips missing candidates, then falls back to conventions', () => {
    const files = new Set(['lib/index.js', 'index.js']);
    const has = (p: string) => files.has(p);
    expect(pickEntry([{ path: 'lib', source: 'main' }], has)).toEqual({
      path: 'lib/index.js',
      source: 'main',
    });
    expect(pickEntry([{ path: 'gone.js', source: 'main' }], has)).toEqual({
      path: 'index.js',
      source: 'file',
    });
    expect(pickEntry([], () => false)).toBeNull();
  });
});

describe('reading the entry source', () => {
  it('sees PORT read from the environment, and its fallback', () => {
    expect(readsPortEnv('app.listen(process.env.PORT ?? 8080)')).toBe(true);
    expect(readsPortEnv("const { PORT = '3000' } = process.env;")).toBe(true);
    expect(readsPortEnv('app.listen(3000)')).toBe(false);
    expect(defaultPortIn('listen(process.env.PORT ?? 8080)')).toBe(8080);
    expect(defaultPortIn("Number(process.env.PORT) || '4000'")).toBe(4000);
    expect(defaultPortIn("process.env['PORT'] || 5000")).toBe(5000);
    expect(defaultPortIn('listen(process.env.PORT)')).toBeNull();
  });

  it('finds a health-looking route, else /', () => {
    expect(healthPathIn("app.get('/healthz', h)")).toBe('/healthz');
    expect(healthPathIn('if (req.url === "/health") ok()')).toBe('/health');
    expect(healthPathIn("app.get('/', h)")).toBe('/');
  });
});

describe('names and CI', () => {
  it.each([
    ['@acme/Web_API', 'dir', 'web-api'],
    ['my-service', 'dir', 'my-service'],
    [undefined, 'Shop Front', 'shop-front'],
    ['123', 'x', 'app'],
  ])('app name from %s (folder %s) → %s', (pkg, dir, name) => {
    expect(appNameFrom(pkg, dir)).toBe(name);
  });

  it('tells the CI from the git remote', () => {
    expect(ciFromRemote('git@github.com:acme/web.git')).toBe('github');
    expect(ciFromRemote('https://gitlab.example.com/acme/web.git')).toBe('gitlab');
    expect(ciFromRemote('git@codeup.aliyun.com:acme/web.git')).toBe('flow');
    expect(ciFromRemote('https://example.com/web.git')).toBeNull();
  });
});

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('detectProject', () => {
  it('reads a TypeScript project from its files', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ferry-detect-'));
    dirs.push(root);
    await mkdir(join(root, 'src'));
    await mkdir(join(root, '.github'));
    await writeFile(
      join(root, 'package.json'),
      JSON.stringify({ name: '@acme/orders', version: '2.0.0', main: 'dist/main.js' }),
    );
    await writeFile(join(root, 'tsconfig.json'), '{}');
    await writeFile(join(root, 'package-lock.json'), '{}');
    await writeFile(
      join(root, 'src', 'main.ts'),
      "server.get('/health', ok);\nserver.listen({ port: Number(process.env.PORT ?? 7000) });\n",
    );
    expect(detectProject(root, 'https://gitlab.com/acme/orders.git')).toEqual({
      root,
      name: 'orders',
      version: '2.0.0',
      entry: { path: 'src/main.ts', source: 'main' },
      typescript: true,
      readsPort: true,
      port: 7000,
      healthPath: '/health',
      lockfile: true,
      ci: ['github', 'gitlab'],
    });
  });
});
