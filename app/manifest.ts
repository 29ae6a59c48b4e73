import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './config';

export interface ReleaseInfo {
  name: string;
  version: string;
  commit: string | null;
  buildTime: string | null;
}

const DEV: ReleaseInfo = { name: 'ferry-storage', version: 'dev', commit: null, buildTime: null };

/**
 * Reads the release manifest once at start. In a release the bundle runs from
 * `releases/<version>/app/index.js` and the manifest sits at `releases/<version>/manifest.json`,
 * one folder above the bundle. FERRY_MANIFEST overrides; without either, this is a dev run.
 */
export function resolveManifest(
  explicitPath: string | null,
  moduleUrl: string = import.meta.url,
): ReleaseInfo {
  if (explicitPath) {
    if (!existsSync(explicitPath)) {
      throw new ConfigError([
        `FERRY_MANIFEST: expected a readable manifest.json, got ${JSON.stringify(explicitPath)}`,
      ]);
    }
    return readManifest(explicitPath, 'FERRY_MANIFEST');
  }
  const beside = path.join(path.dirname(fileURLToPath(moduleUrl)), '..', 'manifest.json');
  return existsSync(beside) ? readManifest(beside, beside) : DEV;
}

function readManifest(file: string, label: string): ReleaseInfo {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError([
      `${label}: expected JSON with name, version, commit, buildTime (${(err as Error).message})`,
    ]);
  }
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const version = str(data.version);
  if (!version) throw new ConfigError([`${label}: expected a "version" string in ${file}`]);
  return {
    name: str(data.name) ?? DEV.name,
    version,
    commit: str(data.commit),
    buildTime: str(data.buildTime),
  };
}
