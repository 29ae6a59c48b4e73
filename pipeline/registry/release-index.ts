// index.json: the published versions of one app, newest first. It is a convenience for `ferry releases`
// and for hosts; the truth is the set of <version>/manifest.json objects (a manifest is written last, so a
// version exists exactly when its manifest does).
//
// OSS has no compare-and-swap for PutObject, so a plain read-modify-write would let two publishers racing
// each drop the other's version. Instead every writer loops: read the index, list the manifests, and if
// anything listed is missing from the index, write the merged index and check again. A writer only stops
// once the index it READS holds every manifest it LISTS, so whoever writes last re-checks after its write
// and repairs anything it clobbered; the index converges to the listing.

import { FerryError } from '../errors';
import { indexKey, releaseKeys } from '../release/layout';
import { parseManifest } from '../release/manifest';
import type { Registry } from './registry';

export const INDEX_SCHEMA = 1;

export interface IndexEntry {
  version: string;
  /** ISO time the version was published: when its manifest.json was written. */
  publishedAt: string;
  /** Artifact size and sha256. */
  size: number;
  sha256: string;
  commit: string | null;
  /** The Node version the release ships with (its manifest's runtime), absent when it ships none. */
  runtime?: string;
}

export interface ReleaseIndex {
  schema: number;
  app: string;
  updatedAt: string;
  /** Newest first. */
  versions: IndexEntry[];
}

export function emptyIndex(app: string): ReleaseIndex {
  return { schema: INDEX_SCHEMA, app, updatedAt: new Date(0).toISOString(), versions: [] };
}

export function parseIndex(bytes: Buffer | string): ReleaseIndex {
  let data: ReleaseIndex | undefined;
  try {
    data = JSON.parse(bytes.toString()) as ReleaseIndex;
  } catch {
    // reported below
  }
  if (data?.schema !== INDEX_SCHEMA || !Array.isArray(data.versions)) {
    throw new FerryError('index.json in the registry is malformed', {
      remedy: 'delete it; the next `ferry publish` rebuilds it from the published manifests',
    });
  }
  return data;
}

export function serializeIndex(index: ReleaseIndex): Buffer {
  return Buffer.from(`${JSON.stringify(index, null, 2)}\n`);
}

export async function readIndex(registry: Registry, prefix: string, app: string): Promise<ReleaseIndex> {
  const bytes = await registry.get(indexKey(prefix, app));
  return bytes === null ? emptyIndex(app) : parseIndex(bytes);
}

/** Versions with a manifest, and when that manifest was written. */
export async function listPublished(
  registry: Registry,
  prefix: string,
  app: string,
): Promise<Map<string, string>> {
  const base = indexKey(prefix, app).replace(/index\.json$/, '');
  const found = new Map<string, string>();
  for (const o of await registry.list(base)) {
    const m = /^([^/]+)\/manifest\.json$/.exec(o.key.slice(base.length));
    if (m?.[1] !== undefined) found.set(m[1], o.lastModified);
  }
  return found;
}

/**
 * Makes the index include `entry` (just published) and every other published version, dropping versions
 * whose manifest is gone. Safe against concurrent publishers; see the comment at the top.
 */
export async function updateIndex(
  registry: Registry,
  prefix: string,
  app: string,
  entry: IndexEntry,
  opts: { maxRounds?: number } = {},
): Promise<ReleaseIndex> {
  const maxRounds = opts.maxRounds ?? 10;
  for (let round = 1; round <= maxRounds; round++) {
    const current = await readIndex(registry, prefix, app);
    const listed = await listPublished(registry, prefix, app);
    const known = new Map(current.versions.map((v) => [v.version, v]));
    const missing = [...listed.keys()].filter((v) => !known.has(v));
    const stale = [...known.keys()].filter((v) => !listed.has(v));
    if (missing.length === 0 && stale.length === 0) return current;

    const added: IndexEntry[] = [];
    for (const version of missing) {
      // publishedAt is when the manifest appeared (the registry's clock), for every entry alike, so
      // the order is the order versions became visible whoever published them.
      if (version === entry.version)
        added.push({ ...entry, publishedAt: listed.get(version) ?? entry.publishedAt });
      else {
        const e = await entryFromManifest(registry, prefix, app, version, listed.get(version) ?? '');
        if (e) added.push(e);
      }
    }
    const versions = [...current.versions.filter((v) => listed.has(v.version)), ...added].sort(newestFirst);
    await registry.put(
      indexKey(prefix, app),
      serializeIndex({ schema: INDEX_SCHEMA, app, updatedAt: new Date().toISOString(), versions }),
      { contentType: 'application/json' },
    );
  }
  throw new FerryError(`index.json of ${app} kept changing while being updated (${maxRounds} rounds)`, {
    remedy: 'other publishes are running; rerun `ferry publish` (the version itself is already published)',
  });
}

async function entryFromManifest(
  registry: Registry,
  prefix: string,
  app: string,
  version: string,
  publishedAt: string,
): Promise<IndexEntry | null> {
  const bytes = await registry.get(releaseKeys(prefix, app, version).manifest);
  if (bytes === null) return null;
  try {
    const m = parseManifest(bytes);
    if (!m.artifact) return null;
    return {
      version,
      publishedAt,
      size: m.artifact.size,
      sha256: m.artifact.sha256,
      commit: m.commit,
      ...(m.runtime ? { runtime: m.runtime.version } : {}),
    };
  } catch {
    return null; // not a valid published manifest: not a release
  }
}

function newestFirst(a: IndexEntry, b: IndexEntry): number {
  if (a.publishedAt !== b.publishedAt) return a.publishedAt < b.publishedAt ? 1 : -1;
  return a.version < b.version ? 1 : a.version > b.version ? -1 : 0;
}
