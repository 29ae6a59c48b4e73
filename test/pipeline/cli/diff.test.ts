// `ferry diff` end to end: two releases published to a local registry, compared from their signed
// manifests; a tampered manifest, an unknown version and a missing argument each fail as they should.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../pipeline/config/load';
import { publishRelease } from '../../../pipeline/publish/publish';
import { LocalRegistry } from '../../../pipeline/registry/local';
import { releaseKeys } from '../../../pipeline/release/layout';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';
import { syntheticArtifact } from '../publish/synthetic';
import { ferry } from './run';

const key = generateSigningKeyPair();
let dir: string;
const settings = (workers: number, logLevel: string) => ({
  port: 3000,
  env: { LOG_LEVEL: logLevel },
  environments: {
    production: {
      service: { mode: 'systemd' as const, workers, unitName: 'fixture', bind: '0.0.0.0' },
      health: { path: '/healthz', timeoutSeconds: 60, intervalMs: 500 },
    },
  },
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-diff-'));
  await writeFile(
    join(dir, 'releases.yaml'),
    `app: {name: fixture, entry: app/server.ts}\nregistry: {type: local, path: registry}\nsigning: {publicKey: "${key.publicKey}"}\n`,
  );
  const config = loadConfig({ cwd: dir, env: {} });
  const registry = new LocalRegistry(join(dir, 'registry'));
  const releases: Parameters<typeof syntheticArtifact>[1][] = [
    {
      version: '1.0.0',
      files: { 'app/index.js': 'one', 'app/old.js': 'old' },
      manifestPatch: {
        dependencies: [{ name: 'fastify', version: '5.1.0', license: 'MIT' }],
        settings: settings(2, 'info'),
      },
    },
    {
      version: '1.1.0',
      files: { 'app/index.js': 'one, two', 'app/new.js': 'new' },
      manifestPatch: {
        dependencies: [
          { name: 'fastify', version: '5.2.0', license: 'MIT' },
          { name: 'zod', version: '3.0.0', license: 'MIT' },
        ],
        settings: settings(4, 'debug'),
      },
    },
  ];
  for (const r of releases) {
    const artifactPath = await syntheticArtifact(join(dir, 'dist'), r);
    await publishRelease({ config, registry, privateKeyPem: key.privateKeyPem, artifactPath });
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('ferry diff', () => {
  it('prints what changed between two published releases', async () => {
    const r = await ferry(['diff', '1.0.0', '1.1.0'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('fixture 1.0.0 → 1.1.0');
    for (const line of [
      'files: 1 added, 1 removed, 1 changed, 0 unchanged',
      '  + app/new.js  3 B',
      '  - app/old.js  3 B',
      '  ~ app/index.js  3 B → 8 B (+5 B)',
      'dependencies: 1 added, 0 removed, 1 changed',
      '  + zod 3.0.0 (MIT)',
      '  ↑ fastify 5.1.0 → 5.2.0 (MIT)',
      '  ~ LOG_LEVEL: info → debug',
      '  ~ production service.workers: 2 → 4',
    ])
      expect(lines).toContain(line);
  });

  it('--json gives the same diff as one document', async () => {
    const r = await ferry(['diff', '1.1.0', '1.0.0', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const d = r.json<{
      ok: boolean;
      from: { version: string };
      dependencies: { removed: { name: string }[] };
    }>();
    expect(d.ok).toBe(true);
    expect(d.from.version).toBe('1.1.0');
    expect(d.dependencies.removed.map((x) => x.name)).toEqual(['zod']);
  });

  it('refuses a manifest whose signature no longer matches (exit 5), and an unknown version (exit 1)', async () => {
    const registry = new LocalRegistry(join(dir, 'registry'));
    const k = releaseKeys('releases', 'fixture', '1.0.0').manifest;
    const original = (await registry.get(k)) as Buffer;
    try {
      await registry.put(
        k,
        Buffer.from(original.toString().replace('"LOG_LEVEL": "info"', '"LOG_LEVEL": "warn"')),
      );
      const r = await ferry(['diff', '1.0.0', '1.1.0'], { cwd: dir });
      expect(r.code).toBe(5);
      expect(r.stderr).toContain('error: fixture 1.0.0: signature does not match the manifest');
    } finally {
      await registry.put(k, original);
    }
    const missing = await ferry(['diff', '1.0.0', '9.9.9'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error: fixture 9.9.9 is not published');
    expect((await ferry(['diff', '1.0.0'], { cwd: dir })).code).toBe(2);
  });
});
