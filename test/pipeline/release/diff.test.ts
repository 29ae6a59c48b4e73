// diffManifests and its printout, pinned exactly on two hand-written manifests.
import { describe, expect, it } from 'vitest';
import { diffLines } from '../../../pipeline/cli/diff-output';
import { createStyle } from '../../../pipeline/cli/io';
import { diffManifests } from '../../../pipeline/release/diff';
import type { ReleaseManifest } from '../../../pipeline/release/manifest';

const sha = (c: string) => c.repeat(64);
const service = { mode: 'systemd' as const, workers: 2, unitName: 'shop', bind: '0.0.0.0' };
const health = { path: '/healthz', timeoutSeconds: 60, intervalMs: 500 };
const runtime = (version: string) => ({
  name: 'node' as const,
  version,
  artifacts: { x64: { key: `r/node-${version}`, size: 9, sha256: sha('9'), glibc: '2.28' } },
});

const a: ReleaseManifest = {
  schema: 1,
  name: 'shop',
  version: '1.0.0',
  commit: 'aaaaaaaaaaaa',
  buildTime: '2024-01-01T00:00:00.000Z',
  node: '>=20',
  entry: 'app/index.js',
  files: [
    { path: 'app/index.js', size: 2000, sha256: sha('1') },
    { path: 'app/old.js', size: 100, sha256: sha('2') },
    { path: 'app/package.json', size: 20, sha256: sha('3') },
  ],
  sourceMap: { file: 'shop-1.0.0.js.map', for: 'app/index.js', size: 5000, sha256: sha('4') },
  dependencies: [
    { name: 'fastify', version: '5.1.0', license: 'MIT' },
    { name: 'left-pad', version: '1.3.0', license: 'WTFPL' },
    { name: 'pino', version: '9.0.0', license: 'MIT' },
    { name: 'semver', version: '6.3.1', license: 'ISC' },
    { name: 'semver', version: '7.0.0', license: 'ISC' },
  ],
  settings: {
    port: 3000,
    env: { LOG_LEVEL: 'info', OLD: 'x', SAME: 's' },
    environments: { production: { service, health }, staging: { service, health } },
  },
  artifact: { file: 'shop-1.0.0.tar.gz', size: 1_000_000, sha256: sha('5') },
  runtime: runtime('22.1.0'),
};
const b: ReleaseManifest = {
  ...a,
  version: '1.1.0',
  commit: 'bbbbbbbbbbbb',
  files: [
    { path: 'app/index.js', size: 2500, sha256: sha('6') },
    { path: 'app/new.js', size: 300, sha256: sha('7') },
    { path: 'app/package.json', size: 20, sha256: sha('3') },
  ],
  sourceMap: { file: 'shop-1.1.0.js.map', for: 'app/index.js', size: 5200, sha256: sha('8') },
  dependencies: [
    { name: 'fastify', version: '5.2.0', license: 'MIT' },
    { name: 'pino', version: '8.0.0', license: 'Apache-2.0' },
    { name: 'semver', version: '7.0.0', license: 'ISC' },
    { name: 'zod', version: '3.0.0', license: null },
  ],
  settings: {
    port: 3000,
    env: { LOG_LEVEL: 'debug', NEW: 'y', SAME: 's' },
    environments: {
      production: { service: { ...service, workers: 4 }, health: { ...health, timeoutSeconds: 90 } },
      canary: { service, health },
    },
  },
  artifact: { file: 'shop-1.1.0.tar.gz', size: 1_200_000, sha256: sha('a') },
  runtime: runtime('22.2.0'),
};

describe('diffManifests', () => {
  it('reports files, sizes, runtime, packages and settings', () => {
    const d = diffManifests(a, b);
    expect(d.files).toEqual({
      added: [{ path: 'app/new.js', size: 300 }],
      removed: [{ path: 'app/old.js', size: 100 }],
      changed: [{ path: 'app/index.js', from: 2000, to: 2500, delta: 500 }],
      unchanged: 1,
    });
    expect(d.artifact).toEqual({ from: 1_000_000, to: 1_200_000, delta: 200_000 });
    expect(d.bundle).toEqual({ path: 'app/index.js', from: 2000, to: 2500, delta: 500 });
    expect(d.runtime).toEqual({ from: '22.1.0', to: '22.2.0', changed: true });
    expect(d.dependencies).toEqual({
      added: [{ name: 'zod', version: '3.0.0', license: null }],
      removed: [{ name: 'left-pad', version: '1.3.0', license: 'WTFPL' }],
      changed: [
        {
          name: 'fastify',
          from: '5.1.0',
          to: '5.2.0',
          kind: 'upgraded',
          licenseFrom: 'MIT',
          licenseTo: 'MIT',
        },
        {
          name: 'pino',
          from: '9.0.0',
          to: '8.0.0',
          kind: 'downgraded',
          licenseFrom: 'MIT',
          licenseTo: 'Apache-2.0',
        },
        {
          name: 'semver',
          from: '6.3.1, 7.0.0',
          to: '7.0.0',
          kind: 'changed',
          licenseFrom: 'ISC',
          licenseTo: 'ISC',
        },
      ],
    });
    expect(d.env).toEqual({
      added: [{ key: 'NEW', from: null, to: 'y' }],
      removed: [{ key: 'OLD', from: 'x', to: null }],
      changed: [{ key: 'LOG_LEVEL', from: 'info', to: 'debug' }],
    });
    expect(d.settings).toEqual([
      { key: 'canary', from: null, to: 'defined' },
      { key: 'production health.timeoutSeconds', from: 60, to: 90 },
      { key: 'production service.workers', from: 2, to: 4 },
      { key: 'staging', from: 'defined', to: null },
    ]);
  });

  it('prints it', () => {
    expect(diffLines(diffManifests(a, b), createStyle(false))).toEqual([
      'shop 1.0.0 → 1.1.0',
      '  commit     aaaaaaa → bbbbbbb',
      '  artifact   976.6 KiB → 1.1 MiB (+195.3 KiB)',
      '  bundle     app/index.js 2.0 KiB → 2.4 KiB (+500 B)',
      '  map        4.9 KiB → 5.1 KiB (+200 B)',
      '  runtime    node 22.1.0 → node 22.2.0',
      'files: 1 added, 1 removed, 1 changed, 1 unchanged',
      '  + app/new.js  300 B',
      '  - app/old.js  100 B',
      '  ~ app/index.js  2.0 KiB → 2.4 KiB (+500 B)',
      'dependencies: 1 added, 1 removed, 3 changed',
      '  + zod 3.0.0 (no licence)',
      '  - left-pad 1.3.0 (WTFPL)',
      '  ↑ fastify 5.1.0 → 5.2.0 (MIT)',
      '  ↓ pino 9.0.0 → 8.0.0 (licence MIT → Apache-2.0)',
      '  ~ semver 6.3.1, 7.0.0 → 7.0.0 (ISC)',
      'app.env:',
      '  + NEW=y',
      '  - OLD',
      '  ~ LOG_LEVEL: info → debug',
      'service settings:',
      '  ~ canary: (none) → defined',
      '  ~ production health.timeoutSeconds: 60 → 90',
      '  ~ production service.workers: 2 → 4',
      '  ~ staging: defined → (none)',
    ]);
  });

  it('says so when a release predates the records, and shows an unchanged runtime as such', () => {
    const { dependencies: _d, settings: _s, sourceMap: _m, ...older } = a;
    const lines = diffLines(diffManifests(older, { ...b, runtime: a.runtime }), createStyle(false));
    expect(lines).toContain('  runtime    node 22.1.0 (unchanged)');
    // Same size is not the same bytes: the artifact of another version differs at least in its manifest.
    const same = diffLines(
      diffManifests(a, {
        ...b,
        artifact: { ...(b.artifact as NonNullable<typeof b.artifact>), size: 1_000_000 },
      }),
      createStyle(false),
    );
    expect(same).toContain('  artifact   976.6 KiB (same size)');
    expect(lines).toContain('  map        5.1 KiB (new)');
    expect(lines).toContain(
      'dependencies: not recorded in both releases (one was built before Ferry recorded them)',
    );
    expect(lines.at(-1)).toBe('settings: not recorded in both releases');
    expect(diffManifests(older, b).dependencies).toBeNull();
  });
});
