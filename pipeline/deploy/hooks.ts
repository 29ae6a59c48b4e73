// The CLI's side of hooks: which host hooks each host gets (a `once` hook goes to the canary only), a
// refusal before any host is touched when an agent cannot run hooks, the afterDeploy hooks run on this
// machine once every host serves the release, and how hook results read in the output.
import { AGENT_FEATURES } from '../agent/version';
import { hookArgv, hostHooks, localHookEnv } from '../commands/hooks';
import { FerryError } from '../errors';
import { runHook } from '../hooks/run';
import { describeHookRun, type HookRun, type HookSpec } from '../hooks/spec';
import type { FailureDetails } from './agent-client';
import type { FleetContext } from './context';
import type { HostOutcome } from './rollout';
import type { HostHandle, HostPlatformInfo } from './session';

/** Batch 1 of a deploy is the canary: it alone runs the `once` hooks. */
export function hooksForBatch(ctx: FleetContext, batch: number): HookSpec[] | undefined {
  const hooks = hostHooks(ctx.config.hooks, batch === 1);
  return hooks.length > 0 ? hooks : undefined;
}

/** An agent that predates hooks would refuse --hook as a usage error half-way through the rollout. */
export function refuseAgentsWithoutHooks(
  ctx: FleetContext,
  hosts: HostHandle[],
  platforms: Map<string, HostPlatformInfo>,
): void {
  const { beforeSwitch, afterSwitch } = ctx.config.hooks;
  if (beforeSwitch.length + afterSwitch.length === 0) return;
  const old = hosts.filter((h) => !platforms.get(h.host.name)?.features.includes('hooks'));
  if (old.length === 0) return;
  throw new FerryError(
    `${old.map((h) => h.host.name).join(', ')}: the agent there cannot run hooks (it lists no "hooks" feature; this CLI's agent has ${AGENT_FEATURES.join(', ')}); nothing was changed`,
    { remedy: `run ferry setup ${ctx.envCfg.name} to install this version of the agent` },
  );
}

/**
 * afterDeploy: in the config file's folder, with the CLI's environment (less Ferry's own keys) and what
 * the deploy did. Stops at the first failure; a failure is reported, never undone.
 */
export async function runAfterDeploy(
  ctx: FleetContext,
  o: { version: string; from: string | null; hosts: string[] },
): Promise<HookRun[]> {
  const runs: HookRun[] = [];
  const env = localHookEnv(ctx.env, {
    FERRY_APP: ctx.config.app.name,
    FERRY_ENV: ctx.envCfg.name,
    FERRY_VERSION: o.version,
    FERRY_PREVIOUS: o.from ?? '',
    FERRY_HOSTS: o.hosts.join(','),
    FERRY_HOOK: 'afterDeploy',
  });
  // Whatever a hook prints goes to the audit log: the values of the notification secrets and the OSS
  // keys must not.
  const secrets = [
    ...ctx.config.notifications.flatMap((n) => [
      ctx.env[n.urlEnv],
      n.secretEnv ? ctx.env[n.secretEnv] : undefined,
    ]),
    ctx.env.OSS_ACCESS_KEY_SECRET,
    ctx.env.OSS_SECURITY_TOKEN,
  ].filter((s): s is string => typeof s === 'string');
  for (const h of ctx.config.hooks.afterDeploy) {
    ctx.log(`  afterDeploy  ${h.run}`);
    const r = await runHook({
      phase: 'afterDeploy',
      run: h.run,
      argv: hookArgv(h.run),
      cwd: ctx.config.root,
      env,
      timeoutSec: h.timeoutSeconds,
      secrets,
    });
    runs.push(r);
    ctx.log(r.ok ? `  ${describeHookRun(r)}` : `warning: ${describeHookRun(r)}; the deploy stands`);
    if (!r.ok) {
      for (const l of r.output) ctx.log(`        | ${l}`);
      break;
    }
  }
  return runs;
}

/** Lines under a host that finished: each hook's verdict, and a failed afterSwitch's output. */
export function hostHookLines(o: HostOutcome): string[] {
  const lines: string[] = [];
  for (const r of o.hooks ?? []) {
    lines.push(`      ${describeHookRun(r)}${r.ok ? '' : '; the release keeps serving'}`);
    if (!r.ok) for (const l of r.output) lines.push(`        | ${l}`);
  }
  return lines;
}

/** Under a host a beforeSwitch hook stopped: what the hook printed last. */
export function hookDetailLines(d: FailureDetails): string[] {
  if (!d.hook) return [];
  const lines = [`      last ${d.hook.output.length} line(s) of the hook's output:`];
  for (const l of d.hook.output) lines.push(`        | ${l}`);
  return lines;
}

/** Hooks that failed without failing the run, for the summary and the notification. */
export function hookWarnings(outcomes: HostOutcome[], afterDeploy: HookRun[]): string[] {
  return [
    ...outcomes.flatMap((o) =>
      (o.hooks ?? []).filter((r) => !r.ok).map((r) => `${o.host}: ${describeHookRun(r)}`),
    ),
    ...afterDeploy.filter((r) => !r.ok).map((r) => describeHookRun(r)),
  ];
}
