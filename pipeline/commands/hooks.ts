// Pure builders for hooks: the argv a hook runs as, the --hook flags `agent deploy` gets (a `once` hook
// goes to the canary only), and the environment a hook sees on a host and on the operator's machine.
import type { HookConfig, HooksConfig } from '../config/resolve';
import type { HookSpec, HostHookPhase } from '../hooks/spec';

export function hookArgv(run: string): string[] {
  return ['/bin/sh', '-c', run];
}

/** What one host runs: every hook of both host phases, except `once` hooks anywhere but the canary. */
export function hostHooks(hooks: HooksConfig, canary: boolean): HookSpec[] {
  const pick = (phase: HostHookPhase, list: HookConfig[]) =>
    list.filter((h) => canary || !h.once).map((h) => ({ phase, run: h.run, timeoutSec: h.timeoutSeconds }));
  return [...pick('beforeSwitch', hooks.beforeSwitch), ...pick('afterSwitch', hooks.afterSwitch)];
}

export function hookFlags(hooks: readonly HookSpec[]): string[] {
  return hooks.flatMap((h) => ['--hook', `${h.phase}:${h.timeoutSec}:${h.run}`]);
}

/**
 * A host hook's environment, what the app's workers get (base < NODE_ENV=production < service.json env <
 * shared/.env) plus the hook's own variables, with the release's Node runtime first on PATH so that
 * `node scripts/migrate.js` runs on the Node the release pins.
 */
export function hostHookEnv(o: {
  base: Record<string, string | undefined>;
  runtimeBin: string;
  serviceEnv: Record<string, string>;
  sharedEnv: Record<string, string>;
  vars: Record<string, string>;
}): Record<string, string> {
  const merged: Record<string, string> = {
    ...defined(o.base),
    NODE_ENV: 'production',
    ...o.serviceEnv,
    ...o.sharedEnv,
    ...o.vars,
  };
  return { ...merged, PATH: `${o.runtimeBin}:${merged.PATH ?? '/usr/local/bin:/usr/bin:/bin'}` };
}

/** Ferry's own keys stay with Ferry: an afterDeploy hook (a CDN purge, say) has no use for them. */
const FERRY_SECRETS = ['FERRY_SIGNING_KEY', 'FERRY_SSH_KEY'];

/** An afterDeploy hook's environment: the CLI's, less Ferry's own keys, plus what the deploy did. */
export function localHookEnv(
  base: Record<string, string | undefined>,
  vars: Record<string, string>,
): Record<string, string> {
  const env = defined(base);
  for (const k of FERRY_SECRETS) delete env[k];
  return { ...env, ...vars };
}

function defined(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}
