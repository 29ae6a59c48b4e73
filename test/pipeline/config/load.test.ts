import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { releasesJsonSchema } from '../../../pipeline/config/json-schema';
import { findConfigFile, loadConfig, PACKAGE_ROOT, parseConfig } from '../../../pipeline/config/load';
import { ConfigError } from '../../../pipeline/errors';
import { ExitCode } from '../../../pipeline/exit-codes';
import { FAKE_ACCESS_KEY_ID, PEM_BEGIN, PEM_END } from '../../fixtures/fake-credentials';

const base = () => ({
  app: { name: 'shop', entry: 'app/server.ts', env: { LOG_LEVEL: 'info' } },
  registry: { type: 'oss', bucket: 'mvp-backend-files', region: 'oss-cn-shenzhen', prefix: 'ferry' },
  environments: {
    production: {
      transport: 'ssh',
      user: 'deploy',
      path: '/srv/shop',
      hosts: [{ address: '10.0.0.1' }, { address: 'web-2.internal', port: 2222 }],
      batch: '50%',
    },
  },
});

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, '/project/releases.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(ExitCode.Config);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

function withChange(change: (c: ReturnType<typeof base>) => void): string {
  const c = base();
  change(c);
  return stringify(c);
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('releases.yaml validation', () => {
  it('accepts a full ssh + oss config and fills in the defaults', () => {
    const c = parseConfig(stringify(base()), '/project/releases.yaml', {});
    expect(c.registry).toEqual({
      type: 'oss',
      bucket: 'mvp-backend-files',
      region: 'oss-cn-shenzhen',
      prefix: 'ferry',
      endpoint: 'https://oss-cn-shenzhen.aliyuncs.com',
      internalEndpoint: 'https://oss-cn-shenzhen-internal.aliyuncs.com',
      cname: false,
    });
    const prod = c.environments.production;
    expect(prod).toMatchObject({
      keep: 5,
      batch: '50%',
      concurrency: 10,
      lockTtlSeconds: 900,
      health: { path: '/healthz', versionPath: '/version', timeoutSeconds: 60, intervalMs: 500 },
      service: { mode: 'systemd', workers: 1, unitName: 'shop', bind: '0.0.0.0', standbySeconds: 900 },
    });
    expect(prod?.hosts).toEqual([
      { name: '10.0.0.1', address: '10.0.0.1', port: 22, appPort: 3000, path: '/srv/shop' },
      { name: 'web-2.internal', address: 'web-2.internal', port: 2222, appPort: 3000, path: '/srv/shop' },
    ]);
    expect(c.app.entryPath).toBe('/project/app/server.ts');
    const pinned = withChange((c) => {
      Object.assign(c.environments.production.hosts[0] as object, { hostKey: `SHA256:${'a'.repeat(43)}` });
      Object.assign(c.environments.production, { knownHostsFile: 'ops/known_hosts' });
    });
    const p2 = parseConfig(pinned, '/project/releases.yaml').environments.production;
    expect(p2?.hosts[0]?.hostKey).toBe(`SHA256:${'a'.repeat(43)}`);
    expect(p2?.knownHostsFile).toBe('/project/ops/known_hosts');
    expect(c.signing.publicKey).toBeNull();
  });

  const cases: [string, string, string[]][] = [
    [
      'unknown key, with a suggestion',
      withChange((c) => Object.assign(c.environments.production, { helth: { path: '/' } })),
      ['environments.production.helth: unknown key; did you mean "health"? (line 21)'],
    ],
    [
      'wrong type',
      withChange((c) => Object.assign(c.app, { port: 'eighty' })),
      ['app.port: must be a whole number (line 6)'],
    ],
    [
      'bad host address',
      withChange((c) => c.environments.production.hosts.push({ address: 'bad host!' })),
      ['environments.production.hosts[2].address: must be a host name or IP address (line 20)'],
    ],
    [
      'batch over 100%',
      withChange((c) => Object.assign(c.environments.production, { batch: '150%' })),
      [
        'environments.production.batch: must be a whole number of hosts (1 or more) or a percentage from 1% to 100% (line 20)',
      ],
    ],
    [
      'batch of the wrong type',
      withChange((c) => Object.assign(c.environments.production, { batch: true })),
      [
        'environments.production.batch: must be a whole number of hosts (1 or more) or a percentage from 1% to 100% (line 20)',
      ],
    ],
    [
      'enum value',
      withChange((c) => Object.assign(c.environments.production, { transport: 'docker' })),
      ['environments.production.transport: must be one of: ssh, local (line 13)'],
    ],
    [
      'missing required keys',
      withChange((c) => {
        delete (c.app as Partial<typeof c.app>).entry;
        delete (c.environments.production as Partial<typeof c.environments.production>).user;
      }),
      [
        'app.entry: is required (line 1)',
        'environments.production.user: is required for the ssh transport (line 11)',
      ],
    ],
    [
      'registry fields checked against the chosen type',
      withChange((c) => Object.assign(c.registry, { region: 'cn-shenzhen', path: 'x' })),
      [
        'registry.region: must be an OSS region id such as oss-cn-shenzhen (line 9)',
        'registry.path: unknown key (expected one of: type, bucket, region, prefix, endpoint, internalEndpoint, cname) (line 11)',
      ],
    ],
    [
      'unknown registry type',
      withChange((c) => Object.assign(c.registry, { type: 's3' })),
      ['registry.type: must be one of: local, oss (line 7)'],
    ],
    [
      'AccessKey id as a value',
      withChange((c) => Object.assign(c.app.env, { OSS_ID: FAKE_ACCESS_KEY_ID })),
      [
        "app.env.OSS_ID: looks like an Alibaba Cloud AccessKey id (LTAI…); releases.yaml is committed. Use the host's shared/.env file (see docs/releases.md), never releases.yaml (line 6)",
      ],
    ],
    [
      'secret by key name, even under an unknown key',
      withChange((c) => Object.assign(c.registry, { accessKeySecret: 'abc' })),
      [
        'registry.accessKeySecret: looks like a secret (by its name); releases.yaml is committed. Use OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET and (for STS) OSS_SECURITY_TOKEN (line 11)',
      ],
    ],
    [
      'duplicate local host ports',
      withChange((c) =>
        Object.assign(c.environments, {
          dev: { transport: 'local', path: '.ferry/hosts', hosts: [{ name: 'a' }, { name: 'b' }] },
        }),
      ),
      [
        'environments.dev.hosts[1].appPort: must differ from hosts[0] (both would listen on port 3000 on this machine) (line 26)',
      ],
    ],
    [
      'YAML syntax error with line and column',
      'app:\n  name: shop\n  entry: [oops\nregistry: {type: local}\n',
      ['line 4, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ],
  ];

  it.each(cases)('%s', (_name, text, expected) => {
    expect(problemsOf(text)).toEqual(expected);
  });

  it('refuses a PEM private key anywhere and points at FERRY_SIGNING_KEY', () => {
    const text = withChange((c) =>
      Object.assign(c, {
        signing: {
          publicKey: `${PEM_BEGIN}\nMC4CAQAwBQYDK2VwBCIEIA==\n${PEM_END}\n`,
        },
      }),
    );
    const [problem] = problemsOf(text);
    expect(problem).toMatch(/^signing\.publicKey: is a private key; .*FERRY_SIGNING_KEY/);
  });

  it('lists every problem at once, in file order', () => {
    const text = withChange((c) => {
      Object.assign(c.app, { name: 'Shop', port: 0 });
      Object.assign(c.environments.production, { keep: 0, path: 'relative' });
    });
    expect(problemsOf(text)).toEqual([
      'app.name: must be lowercase letters, digits and dashes, starting with a letter (max 63) (line 2)',
      'app.port: must be at least 1 (line 6)',
      'environments.production.keep: must be at least 1 (line 22)',
    ]);
  });

  it('health.versionPath: false turns the version check off; anything else must be a path', () => {
    const off = parseConfig(
      withChange((c) =>
        Object.assign(c.environments.production, { health: { path: '/', versionPath: false } }),
      ),
      '/p/releases.yaml',
    );
    expect(off.environments.production?.health).toMatchObject({ path: '/', versionPath: null });
    const bad = withChange((c) =>
      Object.assign(c.environments.production, { health: { versionPath: 'version' } }),
    );
    expect(problemsOf(bad)).toEqual([
      expect.stringMatching(
        /^environments\.production\.health\.versionPath: must be a URL path starting with \/ or false/,
      ),
    ]);
  });

  it('treats an empty key as unset and lets FERRY_SIGNING_PUBLIC_KEY override the key', () => {
    const key = `ed25519:${'A'.repeat(43)}`;
    const c = parseConfig(
      'app: {name: a, entry: x.ts}\nregistry: {type: local}\nsigning:\n',
      '/p/releases.yaml',
      {
        FERRY_SIGNING_PUBLIC_KEY: key,
      },
    );
    expect(c.signing.publicKey).toBe(key);
    expect(c.registry).toEqual({ type: 'local', path: '/p/.ferry/registry', prefix: 'releases' });
  });
});

describe('the repository files', () => {
  it('releases.yaml loads: local registry, two local hosts as folders', () => {
    const c = loadConfig({ cwd: PACKAGE_ROOT, env: {} });
    expect(c.registry.type).toBe('local');
    expect(c.environments.local?.hosts.map((h) => h.path)).toEqual([
      resolve(PACKAGE_ROOT, '.ferry/hosts/host-1'),
      resolve(PACKAGE_ROOT, '.ferry/hosts/host-2'),
    ]);
  });

  it('releases.yaml points editors at the schema', async () => {
    const text = await readFile(resolve(PACKAGE_ROOT, 'releases.yaml'), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./releases.schema.json');
  });

  it('the Alibaba Cloud example in docs/releases.md is a valid config', async () => {
    const doc = await readFile(resolve(PACKAGE_ROOT, 'docs/releases.md'), 'utf8');
    const example = /```yaml\n(# yaml-language-server[\s\S]*?)```/.exec(doc)?.[1] as string;
    const c = parseConfig(example, '/srv/app/releases.yaml');
    expect(c.registry).toMatchObject({
      type: 'oss',
      bucket: 'mvp-backend-files',
      region: 'oss-cn-shenzhen',
      endpoint: 'https://oss-cn-shenzhen.aliyuncs.com',
      internalEndpoint: 'https://oss-cn-shenzhen-internal.aliyuncs.com',
    });
    expect(c.environments.production?.hosts).toHaveLength(3);
  });

  it('releases.schema.json is up to date (regenerate: npx tsx scripts/gen-schema.ts)', async () => {
    const committed = await readFile(resolve(PACKAGE_ROOT, 'releases.schema.json'), 'utf8');
    expect(committed).toBe(releasesJsonSchema());
  });
});

describe('finding the config', () => {
  it('uses -c, else the nearest releases.yaml upward, else the package one', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ferry-find-'));
    dirs.push(root);
    await mkdir(join(root, 'a/b'), { recursive: true });
    await writeFile(join(root, 'releases.yaml'), 'x: 1\n');
    expect(findConfigFile({ cwd: join(root, 'a/b'), env: {} })).toBe(join(root, 'releases.yaml'));
    expect(findConfigFile({ cwd: root, explicit: 'releases.yaml', env: {} })).toBe(
      join(root, 'releases.yaml'),
    );
    expect(findConfigFile({ cwd: tmpdir(), env: {} })).toBe(resolve(PACKAGE_ROOT, 'releases.yaml'));
    expect(() => findConfigFile({ cwd: root, explicit: 'nope.yaml', env: {} })).toThrow(ConfigError);
  });
});
