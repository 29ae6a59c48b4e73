// What changes between two releases, from their signed manifests alone: files, sizes, the Node runtime,
// the bundled npm packages with their licences, app.env and each environment's service settings. Pure, so
// `ferry diff` and `ferry deploy --dry-run` show the same thing and tests pin it exactly.
import semver from 'semver';
import type { BundledDependency, EnvironmentSettings, ReleaseManifest } from './manifest';

export interface SizeChange {
  from: number | null;
  to: number | null;
  delta: number | null;
}

export interface DependencyChange {
  name: string;
  from: string;
  to: string;
  /** 'upgraded' / 'downgraded' when both are one semver version, else 'changed'. */
  kind: 'upgraded' | 'downgraded' | 'changed';
  licenseFrom: string | null;
  licenseTo: string | null;
}

export interface ValueChange {
  key: string;
  from: string | number | null;
  to: string | number | null;
}

export interface ReleaseDiff {
  app: string;
  from: { version: string; commit: string | null; buildTime: string };
  to: { version: string; commit: string | null; buildTime: string };
  files: {
    added: { path: string; size: number }[];
    removed: { path: string; size: number }[];
    changed: { path: string; from: number; to: number; delta: number }[];
    unchanged: number;
  };
  artifact: SizeChange;
  /** The entry file (the ncc bundle). */
  bundle: SizeChange & { path: string };
  sourceMap: SizeChange;
  runtime: { from: string | null; to: string | null; changed: boolean };
  node: { from: string; to: string; changed: boolean };
  /** null when either manifest predates the record (nothing can be said). */
  dependencies: {
    added: BundledDependency[];
    removed: BundledDependency[];
    changed: DependencyChange[];
  } | null;
  /** app.env and app.port; null when either manifest predates settings. */
  env: { added: ValueChange[]; removed: ValueChange[]; changed: ValueChange[] } | null;
  /** Per environment, each service/health setting that differs ("production service.workers"). */
  settings: ValueChange[] | null;
}

const sizeChange = (from: number | undefined, to: number | undefined): SizeChange => ({
  from: from ?? null,
  to: to ?? null,
  delta: from === undefined || to === undefined ? null : to - from,
});

export function diffManifests(a: ReleaseManifest, b: ReleaseManifest): ReleaseDiff {
  const before = new Map(a.files.map((f) => [f.path, f]));
  const after = new Map(b.files.map((f) => [f.path, f]));
  const files: ReleaseDiff['files'] = { added: [], removed: [], changed: [], unchanged: 0 };
  for (const f of b.files) {
    const old = before.get(f.path);
    if (!old) files.added.push({ path: f.path, size: f.size });
    else if (old.sha256 !== f.sha256)
      files.changed.push({ path: f.path, from: old.size, to: f.size, delta: f.size - old.size });
    else files.unchanged++;
  }
  for (const f of a.files) if (!after.has(f.path)) files.removed.push({ path: f.path, size: f.size });
  for (const list of [files.added, files.removed, files.changed]) list.sort((x, y) => cmp(x.path, y.path));

  const rtFrom = a.runtime?.version ?? null;
  const rtTo = b.runtime?.version ?? null;
  return {
    app: b.name,
    from: { version: a.version, commit: a.commit, buildTime: a.buildTime },
    to: { version: b.version, commit: b.commit, buildTime: b.buildTime },
    files,
    artifact: sizeChange(a.artifact?.size, b.artifact?.size),
    bundle: { path: b.entry, ...sizeChange(before.get(a.entry)?.size, after.get(b.entry)?.size) },
    sourceMap: sizeChange(a.sourceMap?.size, b.sourceMap?.size),
    runtime: { from: rtFrom, to: rtTo, changed: rtFrom !== rtTo },
    node: { from: a.node, to: b.node, changed: a.node !== b.node },
    dependencies: a.dependencies && b.dependencies ? diffDependencies(a.dependencies, b.dependencies) : null,
    env: a.settings && b.settings ? diffEnv(a.settings, b.settings) : null,
    settings:
      a.settings && b.settings ? diffEnvironments(a.settings.environments, b.settings.environments) : null,
  };
}

function cmp(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** By package name: a name can appear in several versions (nested copies); they are compared as a set. */
export function diffDependencies(
  a: readonly BundledDependency[],
  b: readonly BundledDependency[],
): NonNullable<ReleaseDiff['dependencies']> {
  const group = (deps: readonly BundledDependency[]) => {
    const m = new Map<string, BundledDependency[]>();
    for (const d of deps) m.set(d.name, [...(m.get(d.name) ?? []), d]);
    return m;
  };
  const ga = group(a);
  const gb = group(b);
  const out: NonNullable<ReleaseDiff['dependencies']> = { added: [], removed: [], changed: [] };
  for (const [name, now] of gb) {
    const was = ga.get(name);
    if (!was) {
      out.added.push(...now);
      continue;
    }
    const from = versions(was);
    const to = versions(now);
    if (from === to) continue;
    const single = was.length === 1 && now.length === 1 && semver.valid(from) && semver.valid(to);
    out.changed.push({
      name,
      from,
      to,
      kind: single ? (semver.gt(to, from) ? 'upgraded' : 'downgraded') : 'changed',
      licenseFrom: licenses(was),
      licenseTo: licenses(now),
    });
  }
  for (const [name, was] of ga) if (!gb.has(name)) out.removed.push(...was);
  out.added.sort((x, y) => cmp(x.name, y.name));
  out.removed.sort((x, y) => cmp(x.name, y.name));
  out.changed.sort((x, y) => cmp(x.name, y.name));
  return out;
}

const versions = (ds: BundledDependency[]) =>
  ds
    .map((d) => d.version)
    .sort(cmp)
    .join(', ');
const licenses = (ds: BundledDependency[]) => {
  const set = [...new Set(ds.map((d) => d.license ?? 'none'))].sort(cmp);
  return set.length === 1 && set[0] === 'none' ? null : set.join(', ');
};

function diffEnv(
  a: NonNullable<ReleaseManifest['settings']>,
  b: NonNullable<ReleaseManifest['settings']>,
): NonNullable<ReleaseDiff['env']> {
  const out: NonNullable<ReleaseDiff['env']> = { added: [], removed: [], changed: [] };
  for (const [key, to] of Object.entries(b.env)) {
    const from = a.env[key];
    if (from === undefined) out.added.push({ key, from: null, to });
    else if (from !== to) out.changed.push({ key, from, to });
  }
  for (const [key, from] of Object.entries(a.env))
    if (!(key in b.env)) out.removed.push({ key, from, to: null });
  if (a.port !== b.port) out.changed.push({ key: 'app.port', from: a.port, to: b.port });
  for (const list of [out.added, out.removed, out.changed]) list.sort((x, y) => cmp(x.key, y.key));
  return out;
}

function diffEnvironments(
  a: Record<string, EnvironmentSettings>,
  b: Record<string, EnvironmentSettings>,
): ValueChange[] {
  const out: ValueChange[] = [];
  const flat = (e: EnvironmentSettings | undefined): Record<string, string | number> => {
    if (!e) return {};
    const r: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(e.service)) r[`service.${k}`] = v;
    for (const [k, v] of Object.entries(e.health)) r[`health.${k}`] = v;
    return r;
  };
  for (const env of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(cmp)) {
    const fa = flat(a[env]);
    const fb = flat(b[env]);
    if (!a[env] || !b[env]) {
      out.push({ key: env, from: a[env] ? 'defined' : null, to: b[env] ? 'defined' : null });
      continue;
    }
    for (const k of Object.keys({ ...fa, ...fb }).sort(cmp)) {
      if (fa[k] !== fb[k]) out.push({ key: `${env} ${k}`, from: fa[k] ?? null, to: fb[k] ?? null });
    }
  }
  return out;
}
