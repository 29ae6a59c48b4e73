// app.runtime in releases.yaml, parsed: which Node (an exact version or a semver range), for which CPUs,
// and where the official binaries come from. Pure functions: the config loader checks the values with
// them (key paths in every message) and the resolved config carries the parsed form.
import semver from 'semver';
import type { RuntimeArch } from '../release/manifest';

export const DEFAULT_NPM_REGISTRY = 'https://registry.npmjs.org';

export type RuntimeSourceSpec =
  /** No `from`: the npm registry, falling back to the running Node when the registry cannot be reached. */
  | { kind: 'auto'; registry: string }
  /** `npm` or `npm:<registry URL>`: the node-linux-<arch> packages. */
  | { kind: 'npm'; registry: string }
  /** An http(s) URL template of official node-v{version}-linux-{arch}.tar.gz/.tar.xz tarballs. */
  | { kind: 'url'; template: string }
  /** A folder of official tarballs (absolute once resolved). */
  | { kind: 'folder'; path: string }
  /** The Node binary running ferry. */
  | { kind: 'self' };

export interface RuntimeConfig {
  /** As written: "22.23.5", "^22", "22.x", ">=22 <24". */
  node: string;
  arch: RuntimeArch[];
  from: RuntimeSourceSpec;
}

export type NodeSpec = { exact: string } | { range: string };

/** "22.23.5" or "v22.23.5" is exact; anything semver reads as a range ("22", "^22", "22.x") is a range. */
export function parseNodeSpec(text: string): NodeSpec | null {
  const trimmed = text.trim();
  if (/^v?[0-9]+\.[0-9]+\.[0-9]+$/.test(trimmed)) return { exact: trimmed.replace(/^v/, '') };
  const range = semver.validRange(trimmed);
  return range === null ? null : { range: trimmed };
}

/** The highest version in `available` that `spec` accepts (no prereleases), or null. */
export function pickVersion(spec: NodeSpec, available: readonly string[]): string | null {
  if ('exact' in spec) return available.includes(spec.exact) ? spec.exact : null;
  return semver.maxSatisfying([...available], spec.range);
}

const URL_RE = /^https?:\/\/[^\s/]+/;

/** Reads `from` as written; `abs` anchors a relative folder at releases.yaml's folder. */
export function parseRuntimeFrom(from: string | undefined, abs: (p: string) => string): RuntimeSourceSpec {
  if (from === undefined) return { kind: 'auto', registry: DEFAULT_NPM_REGISTRY };
  if (from === 'self') return { kind: 'self' };
  if (from === 'npm') return { kind: 'npm', registry: DEFAULT_NPM_REGISTRY };
  if (from.startsWith('npm:')) return { kind: 'npm', registry: from.slice(4).replace(/\/+$/, '') };
  if (/^https?:\/\//.test(from)) return { kind: 'url', template: from };
  return { kind: 'folder', path: abs(from) };
}

/** What is wrong with `from` as written, or null. */
export function runtimeFromProblem(from: string, arches: readonly string[]): string | null {
  // This file is committed and every URL is printed in progress lines: no user:password@ in it.
  if (/^(npm:)?https?:\/\/[^/]*@/.test(from)) {
    return 'must not carry credentials (user:password@); use a mirror that needs none';
  }
  if (from.startsWith('npm:')) {
    return URL_RE.test(from.slice(4))
      ? null
      : 'npm:<registry> needs an http(s) URL, e.g. npm:https://registry.npmmirror.com';
  }
  if (/^https?:\/\//.test(from)) {
    if (!from.includes('{version}')) {
      return 'a URL template must contain {version}, e.g. https://npmmirror.com/mirrors/node/v{version}/node-v{version}-linux-{arch}.tar.xz';
    }
    if (!/\.tar\.(gz|xz)$/.test(from)) return 'a URL template must end in .tar.gz or .tar.xz';
    if (!from.includes('{arch}') && arches.length > 1) {
      return 'must contain {arch} when app.runtime.arch lists more than one architecture';
    }
    return null;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(from)) {
    return 'must be npm, npm:<registry URL>, self, an http(s) URL template, or a folder';
  }
  return null;
}

/** The URL of one tarball: the template with {version} and {arch} filled in. */
export function fillTemplate(template: string, version: string, arch: RuntimeArch): string {
  return template.replaceAll('{version}', version).replaceAll('{arch}', arch);
}

/** The official tarball name for a version and arch, without the extension. */
export function officialName(version: string, arch: RuntimeArch): string {
  return `node-v${version}-linux-${arch}`;
}
