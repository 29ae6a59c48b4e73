// A generation: the workers of one release, on one runtime, with one environment. What `current` resolves
// to is read here, at reload time, so a reload always starts what `current` points to now.
import { existsSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_FILE, parseManifest } from '../../release/manifest';
import type { HostPaths } from '../host/paths';
import { readMarker } from '../install/releases';
import { findRuntime, runtimeNodePath } from '../runtime/layout';
import type { ServiceConfig } from './config';
import { parseDotenv } from './dotenv';
import type { WorkerInfo } from './supervisor-state';
import type { Worker } from './worker';

export interface Generation {
  id: number;
  releaseDir: string;
  version: string;
  exec: string;
  env: Record<string, string>;
  node: string;
  /** The runtime's Node version; the agent's own when the release pins none. */
  runtimeVersion: string;
  /** Same fingerprint: same release, runtime, environment and size, so a reload has nothing to do. */
  fingerprint: string;
  workers: Set<Worker>;
}

/** Found next to the agent bundle on hosts, next to this file in development. */
export function preloadPath(): string {
  const beside = join(dirname(process.argv[1] ?? ''), 'worker-preload.cjs');
  if (existsSync(beside)) return beside;
  return fileURLToPath(new URL('./worker-preload.cjs', import.meta.url));
}

/** What `current` resolves to, as a generation to start (id 0 until it is); null when there is no `current`. */
export async function resolveGeneration(paths: HostPaths, config: ServiceConfig): Promise<Generation | null> {
  let dir: string;
  try {
    dir = await realpath(paths.current);
  } catch {
    return null;
  }
  const manifest = parseManifest(await readFile(join(dir, MANIFEST_FILE)));
  const marker = await readMarker(dir);
  let node = process.execPath;
  let runtimeVersion = process.versions.node;
  if (marker?.runtime) {
    const installed = await findRuntime(paths, marker.runtime);
    if (!installed) {
      throw new Error(
        `${manifest.version} runs on node ${marker.runtime.version} (${marker.runtime.arch}), which is not installed under ${paths.runtimes}`,
      );
    }
    node = runtimeNodePath(installed.dir);
    runtimeVersion = marker.runtime.version;
  }
  let secrets: Record<string, string> = {};
  try {
    secrets = parseDotenv(await readFile(paths.sharedEnv, 'utf8'));
  } catch {
    secrets = {};
  }
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    ...config.env,
    ...secrets,
    // Last: the port and host the agent health-checks are the ones the app must bind.
    PORT: String(config.port),
    HOST: config.host,
    FERRY_RELEASE: manifest.version,
  };
  const fingerprint = JSON.stringify([dir, node, env, config.workers]);
  return {
    id: 0,
    releaseDir: dir,
    version: manifest.version,
    exec: join(dir, manifest.entry),
    env,
    node,
    runtimeVersion,
    fingerprint,
    workers: new Set(),
  };
}

/** The live workers of these generations (and the retiring ones), as supervisor.json lists them. */
export function describeWorkers(gens: (Generation | null)[], retiring: Iterable<Worker>): WorkerInfo[] {
  const live = gens.filter((g): g is Generation => g !== null);
  const out: WorkerInfo[] = [];
  const seen = new Set<Worker>();
  for (const w of [...live.flatMap((g) => [...g.workers]), ...retiring]) {
    if (seen.has(w) || w.state === 'discarded' || w.pid === undefined || w.isDead()) continue;
    seen.add(w);
    out.push({
      pid: w.pid,
      generation: live.find((g) => g.workers.has(w))?.id ?? 0,
      state: w.state === 'probing' ? 'starting' : (w.state as WorkerInfo['state']),
      ...(w.privatePort !== null ? { privatePort: w.privatePort } : {}),
    });
  }
  return out;
}
