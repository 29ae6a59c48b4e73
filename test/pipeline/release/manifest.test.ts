// The manifest's optional records (source map, bundled packages, settings): serialized in one order
// whatever the input order, parsed back, checked field by field, and absent from older manifests.
import { describe, expect, it } from 'vitest';
import {
  MANIFEST_SCHEMA,
  parseManifest,
  type ReleaseManifest,
  serializeManifest,
} from '../../../pipeline/release/manifest';

const SHA = 'a'.repeat(64);
const base: ReleaseManifest = {
  schema: MANIFEST_SCHEMA,
  name: 'app',
  version: '1.0.0',
  commit: null,
  buildTime: '2024-01-01T00:00:00.000Z',
  node: '>=20',
  entry: 'app/index.js',
  files: [{ path: 'app/index.js', size: 3, sha256: SHA }],
};
const service = { mode: 'process' as const, workers: 2, unitName: 'app', bind: '127.0.0.1' };
const health = { path: '/healthz', timeoutSeconds: 60, intervalMs: 500 };
const full: ReleaseManifest = {
  ...base,
  sourceMap: { file: 'app-1.0.0.js.map', for: 'app/index.js', size: 10, sha256: SHA },
  dependencies: [
    { name: 'zod', version: '3.0.0', license: 'MIT' },
    { name: 'ajv', version: '8.0.0', license: null },
  ],
  settings: {
    port: 3000,
    env: { Z_KEY: 'z', A_KEY: 'a' },
    environments: { staging: { service, health }, production: { service, health } },
  },
};

describe('manifest records', () => {
  it('serializes them in a fixed order, so equal content gives equal (signed) bytes', () => {
    const text = serializeManifest(full).toString();
    const shuffled = serializeManifest({
      ...full,
      dependencies: [...(full.dependencies ?? [])].reverse(),
      settings: {
        port: 3000,
        env: { A_KEY: 'a', Z_KEY: 'z' },
        environments: { production: { service, health }, staging: { service, health } },
      },
    }).toString();
    expect(shuffled).toBe(text);
    const parsed = parseManifest(text);
    expect(parsed.dependencies?.map((d) => d.name)).toEqual(['ajv', 'zod']);
    expect(Object.keys(parsed.settings?.env ?? {})).toEqual(['A_KEY', 'Z_KEY']);
    expect(Object.keys(parsed.settings?.environments ?? {})).toEqual(['production', 'staging']);
    expect(parsed.sourceMap).toEqual(full.sourceMap);
    // Before the artifact and runtime, after the files: the order older serializers left untouched.
    expect(Object.keys(parsed)).toEqual([...Object.keys(base), 'sourceMap', 'dependencies', 'settings']);
  });

  it('parses a manifest written before they existed, and serializes it to the same bytes', () => {
    const old = serializeManifest(base);
    const parsed = parseManifest(old);
    expect(parsed.sourceMap).toBeUndefined();
    expect(parsed.dependencies).toBeUndefined();
    expect(serializeManifest(parsed).equals(old)).toBe(true);
  });

  it.each([
    [{ sourceMap: { ...full.sourceMap, file: 'x/y.map' } }, 'manifest: sourceMap.file must be a file name'],
    [{ sourceMap: { ...full.sourceMap, sha256: 'nope' } }, 'manifest: sourceMap.sha256 is invalid'],
    [
      { sourceMap: { ...full.sourceMap, for: '../etc/passwd' } },
      'manifest: sourceMap.for must be a safe relative path',
    ],
    [
      { dependencies: [{ name: 'a', version: '1', license: 3 }] },
      'manifest: dependencies[0].license must be a string or null',
    ],
    [{ dependencies: {} }, 'manifest: dependencies must be an array'],
    [{ settings: { ...full.settings, env: { A: 1 } } }, 'manifest: settings.env.A must be a string'],
    [
      {
        settings: {
          ...full.settings,
          environments: { prod: { service: { ...service, mode: 'docker' }, health } },
        },
      },
      'manifest: settings.environments.prod.service.mode is invalid',
    ],
  ])('names the bad field: %j', (patch, message) => {
    expect(() => parseManifest(JSON.stringify({ ...full, ...patch }))).toThrow(message);
  });
});
