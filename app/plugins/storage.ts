import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { ecsRamRoleCredentials } from '../../pipeline/credentials/ecs-metadata';
import type { Config } from '../config';
import { DiskStorage } from '../storage/disk';
import { type CredentialsProvider, OssStorage } from '../storage/oss';
import type { StorageBackend } from '../storage/types';
import type { Metrics } from './metrics';

/**
 * Builds the configured backend. `credentials` replaces the static OSS keys (rotating STS); without it,
 * OSS_RAM_ROLE selects the ECS instance's RAM role through the metadata service.
 */
export function createStorage(
  config: Config,
  log: FastifyBaseLogger,
  metrics: Metrics,
  credentials?: CredentialsProvider,
): StorageBackend {
  const s = config.storage;
  const catalog = { minChargeBytes: config.minFileChargeBytes, reconcileMs: config.usageCacheSeconds * 1000 };
  if (s.backend === 'disk') return new DiskStorage(path.resolve(s.dir), { ...catalog, log });
  return new OssStorage({
    bucket: s.bucket,
    region: s.region ?? undefined,
    endpoint: s.endpoint ?? undefined,
    internal: s.internal,
    cname: s.cname,
    secure: s.secure,
    timeoutMs: s.timeoutMs,
    credentials:
      credentials ??
      (s.ramRole
        ? ecsRamRoleCredentials({ role: s.ramRole, endpoint: s.metadataEndpoint })
        : {
            accessKeyId: s.accessKeyId,
            accessKeySecret: s.accessKeySecret,
            securityToken: s.securityToken ?? undefined,
          }),
    log,
    onRetry: (operation) => metrics.storageRetries.inc({ operation }),
    catalog,
  });
}
