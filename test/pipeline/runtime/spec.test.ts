import { describe, expect, it } from 'vitest';
import { indexUrl, shasumFor } from '../../../pipeline/runtime/sources/mirror';
import { sha512FromIntegrity } from '../../../pipeline/runtime/sources/npm';
import { licenceCandidates, selfMismatch } from '../../../pipeline/runtime/sources/self';
import {
  DEFAULT_NPM_REGISTRY,
  fillTemplate,
  parseNodeSpec,
  parseRuntimeFrom,
  pickVersion,
  runtimeFromProblem,
} from '../../../pipeline/runtime/spec';

describe('app.runtime.node', () => {
  it('reads x.y.z (with or without v) as exact and anything semver accepts as a range', () => {
    expect(parseNodeSpec('22.23.5')).toEqual({ exact: '22.23.5' });
    expect(parseNodeSpec('v24.22.3')).toEqual({ exact: '24.22.3' });
    expect(parseNodeSpec('22')).toEqual({ range: '22' });
    expect(parseNodeSpec('^22')).toEqual({ range: '^22' });
    expect(parseNodeSpec('>=22 <24')).toEqual({ range: '>=22 <24' });
    expect(parseNodeSpec('lts')).toBeNull();
    expect(parseNodeSpec('22.x.y.z')).toBeNull();
  });

  it('picks the newest release a range accepts, never a prerelease', () => {
    const list = ['20.20.2', '22.1.0', '22.23.5', '24.22.3', '25.0.0-rc.1'];
    expect(pickVersion({ range: '^22' }, list)).toBe('22.23.5');
    expect(pickVersion({ range: '>=22' }, list)).toBe('24.22.3');
    expect(pickVersion({ range: '22.1.x' }, list)).toBe('22.1.0');
    expect(pickVersion({ range: '^26' }, list)).toBeNull();
    expect(pickVersion({ exact: '22.1.0' }, list)).toBe('22.1.0');
    expect(pickVersion({ exact: '22.1.1' }, list)).toBeNull();
  });
});

describe('app.runtime.from', () => {
  const abs = (p: string) => (p.startsWith('/') ? p : `/project/${p}`);

  it('tells npm, npm:<registry>, self, URL templates and folders apart', () => {
    expect(parseRuntimeFrom(undefined, abs)).toEqual({ kind: 'auto', registry: DEFAULT_NPM_REGISTRY });
    expect(parseRuntimeFrom('npm', abs)).toEqual({ kind: 'npm', registry: 'https://registry.npmjs.org' });
    expect(parseRuntimeFrom('npm:https://registry.npmmirror.com/', abs)).toEqual({
      kind: 'npm',
      registry: 'https://registry.npmmirror.com',
    });
    expect(parseRuntimeFrom('self', abs)).toEqual({ kind: 'self' });
    const t = 'https://npmmirror.com/mirrors/node/v{version}/node-v{version}-linux-{arch}.tar.xz';
    expect(parseRuntimeFrom(t, abs)).toEqual({ kind: 'url', template: t });
    expect(parseRuntimeFrom('vendor/node', abs)).toEqual({ kind: 'folder', path: '/project/vendor/node' });
    expect(parseRuntimeFrom('/opt/node-dist', abs)).toEqual({ kind: 'folder', path: '/opt/node-dist' });
  });

  it('names what is wrong with a source', () => {
    expect(runtimeFromProblem('npm:registry.npmmirror.com', ['x64'])).toMatch(/needs an http\(s\) URL/);
    expect(runtimeFromProblem('https://m.example/node-linux-x64.tar.gz', ['x64'])).toMatch(
      /must contain \{version\}/,
    );
    expect(runtimeFromProblem('https://m.example/v{version}/node.zip', ['x64'])).toMatch(
      /\.tar\.gz or \.tar\.xz/,
    );
    expect(runtimeFromProblem('https://m.example/v{version}/node-x64.tar.gz', ['x64', 'arm64'])).toMatch(
      /must contain \{arch\}/,
    );
    expect(runtimeFromProblem('https://m.example/v{version}/node-x64.tar.gz', ['x64'])).toBeNull();
    expect(runtimeFromProblem('ftp://m.example/node', ['x64'])).toMatch(
      /must be npm, npm:<registry URL>, self/,
    );
    expect(runtimeFromProblem('vendor/node', ['x64'])).toBeNull();
    expect(runtimeFromProblem('https://ci:hunter2@m.example/v{version}/node-{arch}.tar.gz', ['x64'])).toMatch(
      /must not carry credentials/,
    );
    expect(runtimeFromProblem('npm:https://token@registry.example', ['x64'])).toMatch(
      /must not carry credentials/,
    );
  });

  it('fills a template and finds its index.json in the folder above the version folder', () => {
    const t = 'https://npmmirror.com/mirrors/node/v{version}/node-v{version}-linux-{arch}.tar.xz';
    expect(fillTemplate(t, '22.23.5', 'arm64')).toBe(
      'https://npmmirror.com/mirrors/node/v22.23.5/node-v22.23.5-linux-arm64.tar.xz',
    );
    expect(indexUrl(t)).toBe('https://npmmirror.com/mirrors/node/index.json');
    // A flat folder of tarballs: the index sits next to them.
    expect(indexUrl('http://127.0.0.1:8080/node/node-v{version}-linux-{arch}.tar.gz')).toBe(
      'http://127.0.0.1:8080/node/index.json',
    );
  });
});

describe('checksums', () => {
  it('reads SHASUMS256.txt lines, text or binary mode', () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const text = `${a}  node-v22.23.5-linux-x64.tar.gz\n${b} *node-v22.23.5-linux-x64.tar.xz\n`;
    expect(shasumFor(text, 'node-v22.23.5-linux-x64.tar.gz')).toBe(a);
    expect(shasumFor(text, 'node-v22.23.5-linux-x64.tar.xz')).toBe(b);
    expect(shasumFor(text, 'node-v22.23.5-linux-arm64.tar.gz')).toBeNull();
  });

  it('turns npm SRI sha512 into hex and ignores other algorithms', () => {
    const hex = 'ab'.repeat(64);
    const b64 = Buffer.from(hex, 'hex').toString('base64');
    expect(sha512FromIntegrity(`sha512-${b64}`)).toBe(hex);
    expect(sha512FromIntegrity(`sha1-AAAA sha512-${b64}`)).toBe(hex);
    expect(sha512FromIntegrity('sha1-NbfJZXRquakMk/1YNh8528Hs2GY=')).toBeNull();
  });
});

describe('the running Node as a source', () => {
  const node = { version: '22.23.5', arch: 'x64', platform: 'linux', execPath: '/opt/node/bin/node' };

  it('matches only its own version, CPU and OS', () => {
    expect(selfMismatch(node, '22.23.5', 'x64')).toBeNull();
    expect(selfMismatch(node, '24.22.3', 'x64')).toBe('the running Node is 22.23.5, not 24.22.3');
    expect(selfMismatch(node, '22.23.5', 'arm64')).toBe('the running Node is for x64, not arm64');
    expect(selfMismatch({ ...node, platform: 'darwin' }, '22.23.5', 'x64')).toBe(
      'the running Node is for darwin, not linux',
    );
  });

  it('looks for the licence where official tarballs and the nodesource deb put it', () => {
    expect(licenceCandidates('/usr/bin/node')).toEqual([
      '/usr/LICENSE',
      '/usr/share/doc/node/LICENSE',
      '/usr/share/doc/nodejs/LICENSE',
    ]);
  });
});
