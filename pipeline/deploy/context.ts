// What every fleet operation (setup, deploy, rollback, status, unlock, history) works with.
import type { EnvironmentConfig, FerryConfig } from '../config/resolve';
import { UsageError } from '../errors';
import type { Registry } from '../registry/registry';

export interface FleetContext {
  config: FerryConfig;
  envCfg: EnvironmentConfig;
  registry: Registry;
  env: Record<string, string | undefined>;
  who: string;
  /** A human progress line (stderr in --json mode). */
  log(line: string): void;
}

export function environmentOf(config: FerryConfig, name: string | undefined): EnvironmentConfig {
  const names = Object.keys(config.environments);
  if (!name)
    throw new UsageError('which environment?', {
      remedy: `name one of: ${names.join(', ') || '(none configured)'}`,
    });
  const envCfg = config.environments[name];
  if (!envCfg) {
    throw new UsageError(`no environment "${name}" in ${config.file}`, {
      remedy: names.length > 0 ? `use one of: ${names.join(', ')}` : 'add it under environments:',
    });
  }
  return envCfg;
}
