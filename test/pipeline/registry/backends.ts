// Both registry backends, ready for the same tests: a temp folder, and the strict OSS-protocol server.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OssRegistryConfig } from '../../../pipeline/config/resolve';
import { LocalRegistry } from '../../../pipeline/registry/local';
import { OssRegistry, type OssRegistryOptions } from '../../../pipeline/registry/oss';
import type { Registry } from '../../../pipeline/registry/registry';
import { type OssServer, startOssServer } from '../../support/oss-server/index';

export interface Backend {
  name: 'local' | 'oss';
  registry: Registry;
  /** Present for the OSS backend. */
  oss?: OssServer;
  close(): Promise<void>;
}

export function ossConfig(oss: OssServer, prefix = 'releases'): OssRegistryConfig {
  return {
    type: 'oss',
    bucket: oss.bucket,
    region: 'oss-cn-hangzhou',
    prefix,
    endpoint: oss.endpoints.public as string,
    internalEndpoint: oss.endpoints.internal as string,
    cname: true,
  };
}

/** Fast retries so fault tests do not sleep. */
export const FAST_RETRY = {
  retry: { retries: 4, baseDelayMs: 5, maxDelayMs: 20 },
} satisfies OssRegistryOptions;

export function ossRegistryFor(oss: OssServer, opts: OssRegistryOptions = FAST_RETRY): OssRegistry {
  return new OssRegistry(
    ossConfig(oss),
    { accessKeyId: oss.accessKeyId, accessKeySecret: oss.accessKeySecret },
    opts,
  );
}

export async function openBackend(name: Backend['name']): Promise<Backend> {
  if (name === 'local') {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
    return { name, registry: new LocalRegistry(dir), close: () => rm(dir, { recursive: true, force: true }) };
  }
  const oss = await startOssServer();
  return { name, registry: ossRegistryFor(oss), oss, close: () => oss.close() };
}
