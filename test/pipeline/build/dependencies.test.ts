import { describe, expect, it } from 'vitest';
import { bundledDependencies, packageFolder } from '../../../pipeline/build/dependencies';

describe('packageFolder', () => {
  it('names the package folder a bundled module came from', () => {
    expect(packageFolder('../node_modules/fastify/lib/route.js')).toBe('node_modules/fastify');
    expect(packageFolder('../node_modules/@fastify/swagger/index.js')).toBe('node_modules/@fastify/swagger');
    expect(packageFolder('../node_modules/a/node_modules/@s/b/x.js')).toBe(
      'node_modules/a/node_modules/@s/b',
    );
    expect(packageFolder('webpack://ferry/./node_modules/pino/pino.js')).toBe('node_modules/pino');
  });

  it('is null for the project’s own files and for a bare node_modules path', () => {
    expect(packageFolder('../app/server.ts')).toBeNull();
    expect(packageFolder('../node_modules/')).toBeNull();
    expect(packageFolder('../node_modules/@scope')).toBeNull();
  });
});

describe('bundledDependencies', () => {
  const lock = {
    packages: {
      '': { name: 'ferry', version: '0.1.0' },
      'node_modules/fastify': { version: '5.12.8', license: 'MIT' },
      'node_modules/@fastify/swagger': { version: '9.9.3', license: 'MIT' },
      'node_modules/semver': { version: '7.8.6', license: 'ISC' },
      'node_modules/a/node_modules/semver': { version: '6.3.1', license: 'ISC' },
      'node_modules/nolicense': { version: '1.0.0' },
      'node_modules/node-ssh': { version: '13.2.1', license: 'MIT' },
    },
  };

  it('lists each bundled package once, with the lockfile’s version and licence, sorted', () => {
    const deps = bundledDependencies(
      [
        '../app/server.ts',
        '../node_modules/fastify/fastify.js',
        '../node_modules/fastify/lib/route.js',
        '../node_modules/semver/index.js',
        '../node_modules/a/node_modules/semver/index.js',
        '../node_modules/@fastify/swagger/index.js',
        '../node_modules/nolicense/index.js',
        '../node_modules/not-in-lockfile/index.js',
      ],
      lock,
    );
    expect(deps).toEqual([
      { name: '@fastify/swagger', version: '9.9.3', license: 'MIT' },
      { name: 'fastify', version: '5.12.8', license: 'MIT' },
      { name: 'nolicense', version: '1.0.0', license: null },
      { name: 'semver', version: '6.3.1', license: 'ISC' },
      { name: 'semver', version: '7.8.6', license: 'ISC' },
    ]);
  });

  it('leaves out packages the bundle does not contain (node-ssh is in the lockfile only)', () => {
    expect(bundledDependencies(['../node_modules/fastify/fastify.js'], lock).map((d) => d.name)).toEqual([
      'fastify',
    ]);
  });
});
