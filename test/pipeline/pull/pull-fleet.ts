// A pull-mode fleet for tests: the strict OSS server as the registry, the ECS metadata fake issuing the
// hosts' STS credentials, a releases.yaml with a local-transport environment of host folders in pull mode,
// fixture releases seeded into the bucket, and `agent sync` run from the agent bundle setup installed.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostPaths } from '../../../pipeline/agent/host/paths';
import { type ArtifactFormat, channelKey, hostStatusKey } from '../../../pipeline/release/layout';
import { generateSigningKeyPair } from '../../../pipeline/release/signing';
import { type AgentRun, destroyHost, freePort, runAgent } from '../../fixtures/agent-host';
import type { FakeAppVariant } from '../../fixtures/fake-app';
import { publishFakeApp } from '../../fixtures/releases';
import { ossRegistryYaml } from '../../support/config-yaml';
import { type FakeMetadata, startFakeMetadata } from '../../support/ecs-metadata';
import { type OssServer, startOssServer } from '../../support/oss-server';
import { ferry, type Run } from '../cli/run';

export const APP = 'storage';
export const ENV = 'fleet';
export const ROLE = 'FerryHostRole';
const PREFIX = 'releases';

export interface PullHost {
  name: string;
  root: string;
  port: number;
}

export interface PullFleet {
  dir: string;
  configFile: string;
  oss: OssServer;
  meta: FakeMetadata;
  hosts: PullHost[];
  keys: { publicKey: string; privateKeyPem: string };
  /** The operator's environment: long-term keys for the CLI, the signing key. */
  env: Record<string, string | undefined>;
  ferry(...argv: string[]): Promise<Run>;
  /** Puts a fixture release (signed manifest, signature, artifact) into the bucket. */
  /** Publishes the fake app into the bucket; `format` gzip makes a release as published before brotli. */
  seed(version: string, variant?: FakeAppVariant, format?: ArtifactFormat): Promise<void>;
  /** `agent sync` on a host, from the bundle `ferry setup` installed there. */
  sync(host: PullHost, ...extra: string[]): Promise<AgentRun>;
  syncAll(): Promise<AgentRun[]>;
  channelBytes(): Buffer | undefined;
  putChannel(bytes: Buffer): void;
  /** The host's status object in the registry. */
  status(host: PullHost): Record<string, unknown> | null;
  stop(): Promise<void>;
}

export async function startPullFleet(count = 3): Promise<PullFleet> {
  const oss = await startOssServer({ bucket: 'ferry-pull' });
  // The operator's long-term key, before the metadata fake adds STS keys (which become the server's primary).
  const operator = { id: oss.accessKeyId, secret: oss.accessKeySecret };
  const meta = await startFakeMetadata({ role: ROLE, oss });
  const dir = await mkdtemp(join(tmpdir(), 'ferry-pull-'));
  const keys = generateSigningKeyPair();
  const hosts: PullHost[] = [];
  for (let i = 1; i <= count; i++) {
    hosts.push({ name: `host${i}`, root: join(dir, 'hosts', `host${i}`), port: await freePort() });
  }
  const configFile = join(dir, 'releases.yaml');
  await writeFile(
    configFile,
    `app:
  name: ${APP}
  entry: app/server.ts
${ossRegistryYaml(oss)}signing:
  publicKey: ${keys.publicKey}
environments:
  ${ENV}:
    transport: local
    path: hosts
    batch: 3
    lockTtlSeconds: 60
    health: { timeoutSeconds: 5, intervalMs: 100 }
    service: { mode: process, workers: 1 }
    pull:
      intervalSeconds: 60
      jitterSeconds: 10
      channelTtlSeconds: 3600
      ramRole: ${ROLE}
      metadataEndpoint: ${meta.endpoint}
    hosts:
${hosts.map((h) => `      - { name: ${h.name}, appPort: ${h.port} }`).join('\n')}
`,
  );
  const env = {
    FERRY_WHO: 'operator@test',
    FERRY_SIGNING_KEY: keys.privateKeyPem,
    OSS_ACCESS_KEY_ID: operator.id,
    OSS_ACCESS_KEY_SECRET: operator.secret,
  };
  const staging = join(dir, 'staging');
  const fleet: PullFleet = {
    dir,
    configFile,
    oss,
    meta,
    hosts,
    keys,
    env,
    ferry: (...argv) => ferry(['-c', configFile, ...argv], { cwd: dir, env }),
    async seed(version, variant = 'ok', format = 'brotli') {
      const k = (await publishFakeApp(staging, keys, version, variant, APP, undefined, format)).keys;
      for (const key of [k.artifact, k.signature, k.manifest]) {
        oss.putObject(key, await readFile(join(staging, key)));
      }
    },
    sync: (host, ...extra) =>
      runAgent(['sync', '--root', host.root, ...extra], {
        bundle: hostPaths(host.root).agentEntry,
      }),
    syncAll: () => Promise.all(hosts.map((h) => fleet.sync(h))),
    channelBytes: () => oss.getObject(channelKey(PREFIX, APP, ENV))?.body,
    putChannel: (bytes) => {
      oss.putObject(channelKey(PREFIX, APP, ENV), bytes, { contentType: 'application/json' });
    },
    status: (host) => {
      const o = oss.getObject(hostStatusKey(PREFIX, APP, ENV, host.name));
      return o ? (JSON.parse(o.body.toString()) as Record<string, unknown>) : null;
    },
    async stop() {
      for (const h of hosts) await destroyHost({ root: h.root, paths: hostPaths(h.root), port: h.port });
      await meta.close();
      await oss.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fleet;
}
