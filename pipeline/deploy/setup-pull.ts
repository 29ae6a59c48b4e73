// `ferry setup <env> --pull`: what a host needs to pull by itself. Writes .ferry/pull.json (registry as
// the host reaches it, this host's name, where credentials come from) and, in systemd mode, installs the
// `<unit>-sync` service + timer pair that runs `agent sync`. Credentials are the instances' RAM role
// (environments.<e>.pull.ramRole) read from the metadata service, so no key is stored on a host; only
// hosts outside ECS (and tests) get static keys, from FERRY_PULL_ACCESS_KEY_ID/SECRET, in a 0600 file.
import { join } from 'node:path';
import type { PullCredentialsConfig, PullRegistryConfig } from '../agent/pull/config';
import { pullConfigJson } from '../commands/pull-config';
import { syncServiceUnit, syncTimerUnit, syncUnitNames, systemctlArgv, unitPath } from '../commands/systemd';
import type { PullConfig } from '../config/resolve';
import { ConfigError, FerryError } from '../errors';
import type { FleetContext } from './context';
import { type FileToWrite, writeChanged } from './host-files';
import type { HostHandle } from './session';

export const PULL_KEY_ENV = {
  id: 'FERRY_PULL_ACCESS_KEY_ID',
  secret: 'FERRY_PULL_ACCESS_KEY_SECRET',
} as const;

export interface PullPlan {
  settings: PullConfig;
  registry: PullRegistryConfig;
  credentials: PullCredentialsConfig;
}

export const PULL_DEFAULTS: PullConfig = {
  intervalSeconds: 120,
  jitterSeconds: 60,
  channelTtlSeconds: 7 * 86400,
  metadataEndpoint: 'http://100.100.100.200',
};

/** Checks everything pull mode needs before any host is touched; ConfigErrors name the fix. */
export function planPull(ctx: FleetContext): PullPlan {
  const { config, envCfg } = ctx;
  const settings = envCfg.pull ?? PULL_DEFAULTS;
  const reg = config.registry;
  if (reg.type === 'local' && envCfg.transport === 'ssh') {
    throw new ConfigError(`pull mode needs a registry the hosts can reach; ${reg.path} is on this machine`, {
      remedy: 'use an OSS registry (registry.type: oss) for ssh environments in pull mode',
    });
  }
  const registry: PullRegistryConfig =
    reg.type === 'local'
      ? { type: 'local', path: reg.path, prefix: reg.prefix }
      : {
          type: 'oss',
          endpoint: reg.internalEndpoint,
          bucket: reg.bucket,
          cname: reg.cname,
          prefix: reg.prefix,
        };
  let credentials: PullCredentialsConfig = { type: 'none' };
  if (reg.type === 'oss') {
    const id = ctx.env[PULL_KEY_ENV.id]?.trim();
    const secret = ctx.env[PULL_KEY_ENV.secret]?.trim();
    if (settings.ramRole) {
      credentials = {
        type: 'ecs-ram-role',
        role: settings.ramRole,
        metadataEndpoint: settings.metadataEndpoint,
      };
    } else if (id && secret) {
      credentials = { type: 'static', accessKeyId: id, accessKeySecret: secret };
    } else {
      throw new ConfigError(`hosts of ${envCfg.name} need credentials to read the registry in pull mode`, {
        remedy: `set environments.${envCfg.name}.pull.ramRole to the instances' RAM role (no keys on hosts); outside ECS, export ${PULL_KEY_ENV.id} and ${PULL_KEY_ENV.secret} for a read-only RAM user`,
      });
    }
  }
  return { settings, registry, credentials };
}

export async function installPull(
  ctx: FleetContext,
  h: HostHandle,
  plan: PullPlan,
  nodePath: string,
  steps: string[],
): Promise<void> {
  const { config, envCfg } = ctx;
  const root = h.host.path;
  const pullJson = join(root, '.ferry', 'pull.json');
  const files: FileToWrite[] = [
    {
      path: pullJson,
      bytes: Buffer.from(
        pullConfigJson({
          app: config.app.name,
          env: envCfg.name,
          host: h.host.name,
          registry: plan.registry,
          credentials: plan.credentials,
          healthTimeoutSec: envCfg.health.timeoutSeconds,
          keep: envCfg.keep,
        }),
      ),
      mode: 0o600,
      label: 'pull.json',
    },
  ];
  if (envCfg.service.mode !== 'systemd') {
    await writeChanged(h, files, steps);
    // No systemd to run a timer: `agent sync` is run by whatever schedules jobs there (cron, tests).
    return;
  }
  const must = async (argv: string[], what: string) => {
    const r = await h.t.exec(argv);
    if (r.code !== 0)
      throw new FerryError(`${what} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  };
  const unit = {
    unitName: envCfg.service.unitName,
    user: envCfg.user ?? 'root',
    root,
    nodePath,
    intervalSeconds: plan.settings.intervalSeconds,
    jitterSeconds: plan.settings.jitterSeconds,
  };
  const names = syncUnitNames(envCfg.service.unitName);
  const units = [
    [names.service, syncServiceUnit(unit)],
    [names.timer, syncTimerUnit(unit)],
  ] as const;
  for (const [name, text] of units) {
    files.push({
      path: join(root, '.ferry', name),
      bytes: Buffer.from(text),
      mode: 0o644,
      label: 'sync timer',
    });
  }
  const written = await writeChanged(h, files, steps);
  let installed = false;
  for (const [name] of units) {
    const staged = join(root, '.ferry', name);
    if (!written.has(staged)) continue;
    await must(['sudo', '-n', 'install', '-m', '0644', staged, unitPath(name)], `installing ${name}`);
    installed = true;
  }
  if (installed) await must(systemctlArgv('daemon-reload'), 'systemctl daemon-reload');
  const active = await h.t.exec(systemctlArgv('is-active', names.timer, { sudo: false }));
  if (installed || active.stdout.trim() !== 'active') {
    await must(systemctlArgv('enable', names.timer, { now: true }), `systemctl enable --now ${names.timer}`);
  }
}
