// The app's settings a release records at build time, so `ferry diff` can show what changed in how it
// runs (app.env, the port, each environment's service and health) without reading any releases.yaml.
import type { FerryConfig } from '../config/resolve';
import type { ReleaseSettings } from '../release/manifest';

export function releaseSettings(config: FerryConfig): ReleaseSettings {
  const environments: ReleaseSettings['environments'] = {};
  for (const [name, e] of Object.entries(config.environments)) {
    environments[name] = { service: { ...e.service }, health: { ...e.health } };
  }
  return { port: config.app.port, env: { ...config.app.env }, environments };
}
