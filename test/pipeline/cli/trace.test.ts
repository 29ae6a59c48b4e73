// `ferry trace`: a real crash of a published release, run from a host-like release folder, decoded back to
// the TypeScript line that threw, with the source map fetched from the registry and checked first.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArtifact } from '../../../pipeline/build/read-artifact';
import { LocalRegistry } from '../../../pipeline/registry/local';
import { releaseKeys } from '../../../pipeline/release/layout';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';
import { decodeTrace, sourcePath, versionsInTrace } from '../../../pipeline/release/stack-trace';
import { type FixtureApp, makeFixtureApp } from '../build/fixture-app';
import { ferry } from './run';

const key = generateSigningKeyPair();
let app: FixtureApp;
let crashLog: string;
// The line of the throw in the fixture's app/server.ts (its extra source is appended after 14 lines).
const CRASH = `
function explode(): never {
  throw new Error('boom from the fixture');
}
if (process.env.CRASH) explode();
`;

beforeAll(async () => {
  app = await makeFixtureApp({ name: 'tracer', publicKey: key.publicKey, extraSource: CRASH });
  const env = { FERRY_SIGNING_KEY: key.privateKeyPem, SOURCE_DATE_EPOCH: '1700000000' };
  const p = await ferry(['publish', '--version', '1.0.0', '--json'], { cwd: app.root, env });
  expect(p.code, p.stderr).toBe(0);
  // Unpacked as a host would: <root>/releases/1.0.0/, then crashed.
  const dir = join(app.root, 'host', 'releases', '1.0.0');
  for (const e of await readArtifact(join(app.root, 'dist', 'tracer-1.0.0.tar.br'))) {
    if (e.type !== 'file') continue;
    await mkdir(join(dir, e.path, '..'), { recursive: true });
    await writeFile(join(dir, e.path), e.bytes);
  }
  const run = spawnSync(process.execPath, [join(dir, 'app/index.js')], {
    env: { PATH: process.env.PATH ?? '', CRASH: '1', PORT: '0' },
    encoding: 'utf8',
  });
  expect(run.status).not.toBe(0);
  crashLog = join(app.root, 'crash.log');
  await writeFile(crashLog, run.stderr);
}, 120_000);
afterAll(() => app.cleanup());

const serverLine = (text: string) =>
  (
    spawnSync('grep', ['-n', text, join(app.root, 'app/server.ts')], { encoding: 'utf8' }).stdout.split(
      ':',
    )[0] ?? ''
  ).trim();

describe('ferry trace', () => {
  it('maps the bundle positions of a real crash back to the TypeScript source, version from the paths', async () => {
    expect(await import('node:fs/promises').then((f) => f.readFile(crashLog, 'utf8'))).toMatch(
      /releases\/1\.0\.0\/app\/index\.js:\d+:\d+/,
    );
    const r = await ferry(['trace', crashLog], { cwd: app.root });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Error: boom from the fixture');
    expect(r.stdout).toContain(`app/server.ts:${serverLine("throw new Error('boom")}:`);
    expect(r.stdout).not.toMatch(/app\/index\.js:\d+:\d+/);
  });

  it('refuses a source map that is not the one the signed manifest names (exit 5)', async () => {
    const registry = new LocalRegistry(join(app.root, '.ferry/registry'));
    const k = releaseKeys('releases', 'tracer', '1.0.0').sourceMap;
    const original = (await registry.get(k)) as Buffer;
    try {
      const edited = gunzipSync(original).toString().replace('server.ts', 'Server.ts');
      await registry.put(k, gzipSync(edited));
      const r = await ferry(['trace', crashLog], { cwd: app.root });
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(/error: tracer 1.0.0: source map (size|sha256) mismatch: manifest says/);
    } finally {
      await registry.put(k, original);
    }
  });

  it('asks for --version when the trace names no release folder', async () => {
    const file = join(app.root, 'plain.log');
    await writeFile(file, 'Error: x\n    at f (/opt/app/index.js:1:10)\n');
    const r = await ferry(['trace', file], { cwd: app.root });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hint: say which with --version V');
  });
});

describe('decodeTrace', () => {
  const map = {
    findEntry: (line: number, column: number) =>
      line === 0 && column === 99
        ? {
            generatedLine: 0,
            originalSource: '../app/a.ts',
            originalLine: 41,
            originalColumn: 6,
            name: 'load',
          }
        : { generatedLine: 5, originalSource: '../app/z.ts', originalLine: 0, originalColumn: 0 },
  };

  it('replaces each bundle position, keeps what it cannot map, works inside JSON log lines', () => {
    const text =
      '{"msg":"failed","err":{"stack":"Error: x\\n    at load (/srv/a/releases/2.1.0/app/index.js:1:100)\\n    at file:///srv/a/current/app/index.js:3:4"}}';
    const d = decodeTrace(text, 'app/index.js', map);
    expect(d).toEqual({
      text: '{"msg":"failed","err":{"stack":"Error: x\\n    at load (app/a.ts:42:7 [load])\\n    at file:///srv/a/current/app/index.js:3:4"}}',
      frames: 2,
      mapped: 1,
    });
    expect(versionsInTrace(text, 'app/index.js')).toEqual(['2.1.0']);
  });

  it('turns map sources into paths from the project root', () => {
    expect(sourcePath('../app/routes/x.ts')).toBe('app/routes/x.ts');
    expect(sourcePath('webpack://ferry/./app/x.ts')).toBe('app/x.ts');
  });
});
