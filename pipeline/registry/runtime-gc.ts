// Which packed runtimes in the registry no release needs any more. Runtimes are shared by every app under
// the prefix, so every app's manifests are read, not only this one's. A runtime is kept when any
// manifest.json under the prefix names its key (a plain byte search, so even a manifest that no longer
// parses protects what it names), or when it is younger than the grace period: a publish uploads its
// runtime before its manifest, and must not lose it to a gc running in between.
import { runtimesPrefix } from '../release/layout';
import type { ObjectInfo, Registry } from './registry';

export interface RuntimeObject {
  key: string;
  size: number;
  lastModified: string;
  /** "<app> <version>" of every published release naming this runtime. */
  usedBy: string[];
  /** kept: a release needs it; recent: unreferenced but inside the grace period; unreferenced: deletable. */
  status: 'kept' | 'recent' | 'unreferenced';
}

export interface RuntimeSurvey {
  runtimes: RuntimeObject[];
  /** How many published manifests were read. */
  manifests: number;
}

const MANIFEST = /^([^/]+)\/([^/]+)\/manifest\.json$/;

/** Every runtime object under the prefix, with the releases that name it. */
export async function surveyRuntimes(
  registry: Registry,
  prefix: string,
  opts: { now: Date; minAgeMs: number },
): Promise<RuntimeSurvey> {
  const base = prefixPath(prefix);
  const runtimesBase = runtimesPrefix(prefix);
  const all = await registry.list(base);
  const runtimes = all.filter((o) => o.key.startsWith(runtimesBase) && o.key.endsWith('.tar.gz'));
  const manifests = all
    .map((o) => ({ o, m: MANIFEST.exec(o.key.slice(base.length)) }))
    .filter((x): x is { o: ObjectInfo; m: RegExpExecArray } => x.m !== null && x.m[1] !== 'runtimes');

  const usedBy = new Map<string, string[]>(runtimes.map((r) => [r.key, []]));
  for (const { o, m } of manifests) {
    const bytes = await registry.get(o.key);
    if (bytes === null) continue; // deleted since the listing: it references nothing any more
    const text = bytes.toString('utf8');
    for (const r of runtimes) if (text.includes(r.key)) usedBy.get(r.key)?.push(`${m[1]} ${m[2]}`);
  }
  return {
    manifests: manifests.length,
    runtimes: runtimes.map((r) => {
      const users = usedBy.get(r.key) ?? [];
      const age = opts.now.getTime() - Date.parse(r.lastModified);
      const status = users.length > 0 ? 'kept' : age < opts.minAgeMs ? 'recent' : 'unreferenced';
      return { key: r.key, size: r.size, lastModified: r.lastModified, usedBy: users, status };
    }),
  };
}

/**
 * Deletes the runtimes `survey` found unreferenced, after surveying again right before deleting: one
 * published since the first survey keeps its runtime. Returns the keys deleted.
 */
export async function deleteUnreferenced(
  registry: Registry,
  prefix: string,
  survey: RuntimeSurvey,
  opts: { now: Date; minAgeMs: number },
): Promise<string[]> {
  const again = await surveyRuntimes(registry, prefix, opts);
  const still = new Set(again.runtimes.filter((r) => r.status === 'unreferenced').map((r) => r.key));
  const deleted: string[] = [];
  for (const r of survey.runtimes) {
    if (r.status !== 'unreferenced' || !still.has(r.key)) continue;
    await registry.delete(r.key);
    deleted.push(r.key);
  }
  return deleted;
}

function prefixPath(prefix: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  return p === '' ? '' : `${p}/`;
}
