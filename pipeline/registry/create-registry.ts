// Picks the registry backend from the config. Only the OSS backend needs credentials, read here from the
// environment so they never pass through releases.yaml: keys, or a RAM role (OSS_RAM_ROLE) on ECS.
import type { RegistryConfig } from '../config/resolve';
import { ramRoleProviderFromEnv } from '../credentials/from-env';
import { LocalRegistry } from './local';
import { OssRegistry, type OssRegistryOptions } from './oss';
import { ossCredentialsFromEnv } from './oss-errors';
import type { Registry } from './registry';

export function createRegistry(
  config: RegistryConfig,
  env: Record<string, string | undefined>,
  opts: OssRegistryOptions = {},
): Registry {
  if (config.type === 'local') return new LocalRegistry(config.path);
  // On an ECS instance with a RAM role (OSS_RAM_ROLE), STS credentials from the metadata service.
  return new OssRegistry(config, ramRoleProviderFromEnv(env) ?? ossCredentialsFromEnv(env), opts);
}
