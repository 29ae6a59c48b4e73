// The releases.yaml init writes must load with the real loader as it is, and its commented OSS + ECS
// blocks must load too once uncommented: they are what a user turns on next.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../pipeline/config/load';
import { OSS_BLOCK_START, releasesYaml, SSH_BLOCK_START } from '../../../pipeline/init/releases-yaml';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';

const key = generateSigningKeyPair().publicKey;
const text = releasesYaml({
  name: 'orders',
  entry: 'src/main.ts',
  entrySource: 'main',
  port: 7000,
  readsPort: true,
  nodeMajor: 22,
  arch: 'x64',
  publicKey: key,
  healthPath: '/health',
  localPorts: [7101, 7102],
  schemaPath: './node_modules/ferry/releases.schema.json',
});

/** Uncomments the lines after a block's marker, up to the next blank line or the end. */
function uncomment(t: string, marker: string): string {
  const lines = t.split('\n');
  const at = lines.indexOf(marker);
  expect(at).toBeGreaterThan(0);
  for (let i = at + 1; i < lines.length && (lines[i] as string).trim() !== ''; i++) {
    lines[i] = (lines[i] as string).replace(/^(\s*)# /, '$1');
  }
  return lines.join('\n');
}

describe('the releases.yaml ferry init writes', () => {
  it('starts with the schema line and loads as it is: local registry, two local hosts, health only', () => {
    expect(text.split('\n')[0]).toBe(
      '# yaml-language-server: $schema=./node_modules/ferry/releases.schema.json',
    );
    const c = parseConfig(text, '/p/releases.yaml');
    expect(c.app).toMatchObject({
      name: 'orders',
      entry: 'src/main.ts',
      port: 7000,
      node: '>=22',
      runtime: { node: '^22', arch: ['x64'], from: { kind: 'self' } },
      env: { NODE_ENV: 'production' },
    });
    expect(c.registry).toEqual({ type: 'local', path: '/p/.ferry/registry', prefix: 'releases' });
    expect(c.signing.publicKey).toBe(key);
    expect(Object.keys(c.environments)).toEqual(['local']);
    expect(c.environments.local).toMatchObject({
      transport: 'local',
      health: { path: '/health', versionPath: null },
      service: { mode: 'process' },
    });
    expect(c.environments.local?.hosts.map((h) => [h.name, h.appPort, h.path])).toEqual([
      ['host-1', 7101, '/p/.ferry/hosts/host-1'],
      ['host-2', 7102, '/p/.ferry/hosts/host-2'],
    ]);
  });

  it('its commented OSS registry and ECS environment load once uncommented', () => {
    const withoutLocal = text.replace('registry:\n  type: local\n  path: .ferry/registry\n', '');
    const real = uncomment(uncomment(withoutLocal, OSS_BLOCK_START), SSH_BLOCK_START);
    const c = parseConfig(real, '/p/releases.yaml');
    expect(c.registry).toMatchObject({
      type: 'oss',
      region: 'oss-cn-hangzhou',
      internalEndpoint: 'https://oss-cn-hangzhou-internal.aliyuncs.com',
    });
    expect(c.environments.production).toMatchObject({
      transport: 'ssh',
      user: 'deploy',
      path: '/srv/orders',
      batch: '50%',
      health: { path: '/health', versionPath: null, timeoutSeconds: 90 },
      service: { mode: 'systemd', workers: 2 },
    });
    expect(c.environments.production?.hosts.map((h) => h.address)).toEqual(['172.16.0.11', '172.16.0.12']);
  });

  it('warns in the file when the entry does not read PORT', () => {
    const t = releasesYaml({
      name: 'a',
      entry: 'a.js',
      entrySource: 'flag',
      port: 3000,
      readsPort: false,
      nodeMajor: 24,
      arch: 'arm64',
      publicKey: key,
      healthPath: '/',
      localPorts: [3101, 3102],
      schemaPath: '/abs/releases.schema.json',
    });
    expect(t).toContain('# WARNING: the entry does not seem to read process.env.PORT');
    expect(parseConfig(t, '/q/releases.yaml').app.runtime).toMatchObject({ node: '^24', arch: ['arm64'] });
  });
});
