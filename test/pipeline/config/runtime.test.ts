// app.runtime in releases.yaml: every bad value is named by its key path and line, and the resolved
// config carries the parsed source.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../pipeline/config/load';
import { ConfigError } from '../../../pipeline/errors';
import { runtimeYaml } from '../../support/config-yaml';

const base = (runtime: string) => `app:
  name: a
  entry: x.ts
  runtime:
${runtime}
registry: {type: local}
`;

function problems(text: string): string[] {
  try {
    parseConfig(text, '/p/releases.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('app.runtime', () => {
  it('resolves defaults: x64 only, npm with the running Node as fallback; folders relative to the file', () => {
    const c = parseConfig(base('    node: "22.23.5"'), '/p/releases.yaml');
    expect(c.app.runtime).toEqual({
      node: '22.23.5',
      arch: ['x64'],
      from: { kind: 'auto', registry: 'https://registry.npmjs.org' },
    });
    const f = parseConfig(
      base('    node: ^22\n    arch: [x64, arm64]\n    from: vendor/node'),
      '/p/releases.yaml',
    );
    expect(f.app.runtime).toEqual({
      node: '^22',
      arch: ['x64', 'arm64'],
      from: { kind: 'folder', path: '/p/vendor/node' },
    });
    expect(
      parseConfig('app: {name: a, entry: x.ts}\nregistry: {type: local}\n', '/p/r.yaml').app.runtime,
    ).toBe(undefined);
  });

  it('names each bad value by its key path and line, all at once', () => {
    expect(
      problems(base('    node: latest\n    arch: [x64, armv7, x64]\n    from: npm:registry.npmmirror.com')),
    ).toEqual([
      'app.runtime.node: must be an exact Node version like 22.23.5 or a semver range like ^22 or 22.x (line 5)',
      'app.runtime.arch[1]: must be x64 or arm64 (line 6)',
      'app.runtime.arch[2]: duplicates arch[0] (line 6)',
      'app.runtime.from: npm:<registry> needs an http(s) URL, e.g. npm:https://registry.npmmirror.com (line 7)',
    ]);
  });

  it('checks the arch list and the URL template', () => {
    expect(problems(base('    node: "22"\n    arch: [x64, x64]'))).toEqual([
      'app.runtime.arch[1]: duplicates arch[0] (line 6)',
    ]);
    expect(problems(base('    node: "22"\n    arch: []'))).toEqual([
      'app.runtime.arch: must list at least one of x64, arm64 (line 6)',
    ]);
    expect(
      problems(
        base(
          '    node: "22"\n    arch: [x64, arm64]\n    from: https://mirror.example/v{version}/node-v{version}-linux-x64.tar.gz',
        ),
      ),
    ).toEqual([
      'app.runtime.from: must contain {arch} when app.runtime.arch lists more than one architecture (line 7)',
    ]);
    expect(problems(base('    node: "22"\n    from: https://mirror.example/node-latest.tar.gz'))).toEqual([
      'app.runtime.from: a URL template must contain {version}, e.g. https://npmmirror.com/mirrors/node/v{version}/node-v{version}-linux-{arch}.tar.xz (line 6)',
    ]);
    expect(problems(base('    node: "22"\n    version: "22"'))).toEqual([
      'app.runtime.version: unknown key (expected one of: node, arch, from) (line 6)',
    ]);
    expect(problems(base('    arch: [x64]'))).toEqual(['app.runtime.node: is required (line 4)']);
  });

  it('the test fragment for e2e configs parses', () => {
    const c = parseConfig(
      `app:\n  name: a\n  entry: x.ts\n${runtimeYaml('^22', '/cache/folder', ['x64', 'arm64'])}registry: {type: local}\n`,
      '/p/releases.yaml',
    );
    expect(c.app.runtime).toEqual({
      node: '^22',
      arch: ['x64', 'arm64'],
      from: { kind: 'folder', path: '/cache/folder' },
    });
  });

  it('reserves the app name "runtimes" for the registry folder of runtimes', () => {
    expect(problems('app: {name: runtimes, entry: x.ts}\nregistry: {type: local}\n')).toEqual([
      'app.name: is reserved: the registry keeps Node runtimes there (line 1)',
    ]);
  });
});
