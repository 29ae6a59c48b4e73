// The service as a host runs it with several workers: Ferry's supervisor (`agent supervise`) owns the
// public port and hands each connection to a worker over IPC (pipeline/agent/service/dispatch.ts). The
// host folder is laid out the way a deploy leaves it (releases/<v>/app + manifest.json, `current`,
// .ferry/service.json, shared/.env), without the download: the bench measures serving, not deploying.
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { currentLinkTarget, hostPaths, releaseDir } from '../../pipeline/agent/host/paths';
import { serviceConfigJson } from '../../pipeline/commands/service-config';
import { MANIFEST_FILE, serializeManifest } from '../../pipeline/release/manifest';
import { waitForHttp } from './net';
import { spawnTracked, type Tracked } from './procs';
import { packRelease } from './releases';

const REPO = join(import.meta.dirname, '..', '..');
const AGENT_MAIN = join(REPO, 'pipeline', 'agent', 'main.ts');
// Absolute: the supervisor runs with the host root as its cwd, where a bare "tsx" would not resolve.
const TSX = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
export const SUPERVISED_APP = 'ferry-storage';
const VERSION = '1.0.0';

export interface SupervisedOptions {
  /** Where the host folder goes (created). */
  root: string;
  port: number;
  workers: number;
  /** The app's environment: non-secret keys go to service.json, `secrets` to shared/.env. */
  env: Record<string, string>;
  secrets: Record<string, string>;
}

/** Pure: the host's files, path (relative to the root) → text. */
export function hostFiles(o: Omit<SupervisedOptions, 'root'>): Record<string, string> {
  return {
    '.ferry/service.json': serviceConfigJson({
      app: SUPERVISED_APP,
      port: o.port,
      workers: o.workers,
      env: o.env,
      healthTimeoutSec: 30,
      startTimeoutSec: 30,
      drainTimeoutSec: 5,
      standbySec: 0,
      nodePath: process.execPath,
    }),
    'shared/.env': Object.entries(o.secrets)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  };
}

/** Lays out the host with the bundle as its only release and runs the supervisor in the foreground. */
export async function startSupervised(
  bundle: { files: { path: string; bytes: Buffer; executable: boolean }[] },
  o: SupervisedOptions,
): Promise<Tracked> {
  const paths = hostPaths(o.root);
  const release = packRelease(SUPERVISED_APP, VERSION, bundle.files);
  const dir = releaseDir(paths, VERSION);
  for (const f of bundle.files) {
    const file = join(dir, 'app', f.path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, f.bytes, { mode: f.executable ? 0o755 : 0o644 });
  }
  await writeFile(join(dir, MANIFEST_FILE), serializeManifest(release.manifest));
  for (const [rel, text] of Object.entries(hostFiles(o))) {
    await mkdir(dirname(join(o.root, rel)), { recursive: true });
    await writeFile(join(o.root, rel), text, { mode: rel.endsWith('.env') ? 0o600 : 0o644 });
  }
  await mkdir(paths.logs, { recursive: true });
  await symlink(currentLinkTarget(VERSION), paths.current);

  const proc = spawnTracked(
    `ferry supervisor (${o.workers}w)`,
    process.execPath,
    ['--import', TSX, AGENT_MAIN, 'supervise', '--root', o.root],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' }, cwd: o.root },
  );
  // The port answers from the start (connections wait for a worker); "serving" means every worker
  // passed the health gate and is in the rotation.
  // In process mode the supervisor writes its own lines (and the workers' output) to logs/service.log.
  const log = () => readFile(paths.serviceLog, 'utf8').catch(() => '');
  const said = async () => `${proc.output()}${await log()}`.slice(-2000);
  const deadline = Date.now() + 60_000;
  while (!/generation \d+ \(\S+\) serving/.test(await log())) {
    if (proc.exited()) throw new Error(`${proc.name} exited:\n${await said()}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} not serving after 60 s:\n${await said()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await waitForHttp(`http://127.0.0.1:${o.port}/healthz`, { proc });
  return proc;
}
