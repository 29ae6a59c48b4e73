// A whole Ferry setup on this machine for driving the real CLI: a releases.yaml with a `local` environment
// of N hosts (folders, each with its own supervised service on a free port), a registry (a local folder,
// or the OSS test server), a signing key, and the fake app published with `ferry publish --artifact`.
// `ferry()` runs main() in-process; `ferryChild()` runs bin/ferry.js as a child process (what an
// operator or CI job runs), so it can be killed. close() stops every supervisor by its pidfile.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HostPaths, hostPaths } from '../../../pipeline/agent/host/paths';
import { isProcessAlive } from '../../../pipeline/agent/host/proc';
import { main } from '../../../pipeline/cli/main';
import { type ArtifactFormat, artifactName } from '../../../pipeline/release/layout';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';
import { freePort, REPO } from '../../fixtures/agent-host';
import type { FakeAppVariant } from '../../fixtures/fake-app';
import { FIXTURE_APP, fakeAppFiles, innerManifest, packArtifact } from '../../fixtures/releases';
import { ossRegistryYaml } from '../../support/config-yaml';
import type { OssServer } from '../../support/oss-server';

export const ENV_NAME = 'local';
const BIN = join(REPO, 'bin', 'ferry.js');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface LocalHost {
  name: string;
  root: string;
  paths: HostPaths;
  port: number;
}

export interface LocalEnv {
  dir: string;
  configFile: string;
  /** The local registry folder (undefined with OSS). */
  registryDir: string | undefined;
  prefix: string;
  hosts: LocalHost[];
  /** Environment for the CLI: signing key, who, OSS credentials. */
  env: Record<string, string | undefined>;
  ferry(...argv: string[]): Promise<CliRun>;
  ferryChild(
    argv: string[],
    opts?: {
      env?: Record<string, string>;
      /** Own process group, so the test can kill the CLI together with the agents it runs. */
      detached?: boolean;
      onLine?: (line: string, child: ChildProcess) => void;
    },
  ): Promise<CliRun>;
  /**
   * Packs the fake app as `version` and publishes it through `ferry publish --artifact`: packed as `ferry
   * build` packs (.tar.br), or as it packed before brotli (`format` gzip: published as .tar.gz).
   */
  publish(version: string, variant?: FakeAppVariant, format?: ArtifactFormat): Promise<void>;
  close(): Promise<void>;
}

export interface LocalEnvOptions {
  hosts?: number;
  oss?: OssServer;
  lockTtlSeconds?: number;
  healthTimeoutSeconds?: number;
  keep?: number;
  /** Hosts in flight at once (rollback takes every host in one batch, up to this). */
  concurrency?: number;
}

function registryYaml(dir: string, prefix: string, oss: OssServer | undefined): string {
  if (!oss) return `registry:\n  type: local\n  path: ${join(dir, 'registry')}\n  prefix: ${prefix}\n`;
  return ossRegistryYaml(oss, { prefix });
}

export async function startLocalEnv(opts: LocalEnvOptions = {}): Promise<LocalEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-reliability-env-'));
  const prefix = 'releases';
  const keys = generateSigningKeyPair();
  const names = Array.from({ length: opts.hosts ?? 3 }, (_, i) => `host${i + 1}`);
  const ports: number[] = [];
  for (const _ of names) ports.push(await freePort());
  const hosts: LocalHost[] = names.map((name, i) => {
    const root = join(dir, 'hosts', name);
    return { name, root, paths: hostPaths(root), port: ports[i] as number };
  });
  const configFile = join(dir, 'releases.yaml');
  await writeFile(
    configFile,
    `app:
  name: ${FIXTURE_APP}
  entry: ${join(REPO, 'app', 'server.ts')}
${registryYaml(dir, prefix, opts.oss)}signing:
  publicKey: ${keys.publicKey}
environments:
  ${ENV_NAME}:
    transport: local
    path: ${join(dir, 'hosts')}
    batch: 1
${
  opts.concurrency
    ? `    concurrency: ${opts.concurrency}
`
    : ''
}    keep: ${opts.keep ?? 3}
    lockTtlSeconds: ${opts.lockTtlSeconds ?? 30}
    health:
      path: /healthz
      timeoutSeconds: ${opts.healthTimeoutSeconds ?? 10}
      intervalMs: 100
    service:
      mode: process
      workers: 1
    hosts:
${hosts.map((h) => `      - name: ${h.name}\n        appPort: ${h.port}`).join('\n')}
`,
  );
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: dir,
    FERRY_WHO: 'reliability@test',
    FERRY_SIGNING_KEY: keys.privateKeyPem,
    ...(opts.oss
      ? { OSS_ACCESS_KEY_ID: opts.oss.accessKeyId, OSS_ACCESS_KEY_SECRET: opts.oss.accessKeySecret }
      : {}),
  };

  const ferry = async (...argv: string[]): Promise<CliRun> => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await main(['-c', configFile, ...argv], {
      stdout: { write: (s: string) => stdout.push(s) > 0 },
      stderr: { write: (s: string) => stderr.push(s) > 0 },
      env,
      cwd: dir,
      isTTY: false,
    });
    return { code, signal: null, stdout: stdout.join(''), stderr: stderr.join('') };
  };

  const ferryChild: LocalEnv['ferryChild'] = (argv, o = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, '-c', configFile, ...argv], {
        cwd: dir,
        env: { ...process.env, ...env, ...o.env } as NodeJS.ProcessEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: o.detached ?? false,
      });
      let stdout = '';
      let stderr = '';
      let partial = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        partial += d;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) o.onLine?.(l, child);
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });

  const publish = async (
    version: string,
    variant: FakeAppVariant = 'ok',
    format: ArtifactFormat = 'brotli',
  ) => {
    const files = fakeAppFiles(variant);
    const artifact = await packArtifact(innerManifest(FIXTURE_APP, version, files), files, format);
    const file = join(dir, 'dist', artifactName(FIXTURE_APP, version, format));
    await mkdir(join(dir, 'dist'), { recursive: true });
    await writeFile(file, artifact);
    const r = await ferry('publish', '--artifact', file);
    if (r.code !== 0) throw new Error(`publish ${version} failed (${r.code}): ${r.stderr}`);
  };

  const close = async () => {
    await Promise.all(hosts.map((h) => stopSupervisor(h.paths)));
    await rm(dir, { recursive: true, force: true });
  };

  return {
    dir,
    configFile,
    registryDir: opts.oss ? undefined : join(dir, 'registry'),
    prefix,
    hosts,
    env,
    ferry,
    ferryChild,
    publish,
    close,
  };
}

/** SIGTERM by pidfile, SIGKILL after 10 s: no test leaves a supervisor behind. */
export async function stopSupervisor(paths: HostPaths): Promise<void> {
  const pid = Number((await readFile(paths.supervisorPid, 'utf8').catch(() => '')).trim());
  if (!pid || !isProcessAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (isProcessAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
}
