// The RAM-role switch for processes configured by environment variables (the CLI's registry, the app):
// OSS_RAM_ROLE names the role, ECS_METADATA_ENDPOINT moves the metadata service (tests, proxies).
import { DEFAULT_METADATA_ENDPOINT, type EcsRamRoleProvider, ecsRamRoleCredentials } from './ecs-metadata';

export const RAM_ROLE_ENV = { role: 'OSS_RAM_ROLE', endpoint: 'ECS_METADATA_ENDPOINT' } as const;

/** A metadata-service provider when OSS_RAM_ROLE is set, else null. */
export function ramRoleProviderFromEnv(env: Record<string, string | undefined>): EcsRamRoleProvider | null {
  const role = env[RAM_ROLE_ENV.role]?.trim();
  if (!role) return null;
  return ecsRamRoleCredentials({
    role,
    endpoint: env[RAM_ROLE_ENV.endpoint]?.trim() || DEFAULT_METADATA_ENDPOINT,
  });
}
