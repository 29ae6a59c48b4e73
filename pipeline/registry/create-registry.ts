// Picks the registry backend from the config. Only the OSS backend needs credentials, read here from the
// environment so they never pass through releases.yaml.
import type { RegistryConfig } from '../config/resolve';
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
  return new OssRegistry(config, ossCredentialsFromEnv(env), opts);
}
