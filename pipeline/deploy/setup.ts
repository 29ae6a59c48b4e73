// `ferry setup <env>`: makes each host ready to receive releases. Idempotent: every file is rewritten
// atomically to the same content, shared/.env is never overwritten unless an env file is given, and the
// service is started only if it is not running.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildAgentBundle } from '../agent/bundle';
import { agentDir, setupDirsArgv } from '../commands/agent';
import { serviceConfigJson } from '../commands/service-config';
import { systemctlArgv, systemdUnit, unitFileName, unitPath } from '../commands/systemd';
import { ConfigError, FerryError } from '../errors';
import { runAgent } from './agent-client';
import type { FleetContext } from './context';
import { mapLimit } from './plan';
import { closeHosts, type HostHandle, openHosts } from './session';
import { installPull, type PullPlan, planPull } from './setup-pull';

export interface SetupOutcome {
  host: string;
  ok: boolean;
  steps: string[];
  error?: string;
}

export async function setupEnv(
  ctx: FleetContext,
  opts: { envFile?: string; bundleDir: string; pull?: boolean },
): Promise<SetupOutcome[]> {
  const { config, envCfg } = ctx;
  const publicKey = config.signing.publicKey;
  if (!publicKey) {
    throw new ConfigError(
      'signing.publicKey is not set, so hosts would have no key to verify releases with',
      {
        remedy:
          'run ferry keygen and paste the public key line into releases.yaml (or set FERRY_SIGNING_PUBLIC_KEY)',
      },
    );
  }
  const envFileBytes = opts.envFile ? await readFile(opts.envFile) : null;
  // Pull mode (--pull, or a pull: block in releases.yaml) is checked before any slow work.
  const pull = opts.pull || envCfg.pull ? planPull(ctx) : null;
  ctx.log(`building the host agent…`);
  const bundle = await buildAgentBundle(opts.bundleDir);
  const agentFiles = await Promise.all(
    bundle.files.map(async (f) => ({
      name: f,
      bytes: await readFile(join(opts.bundleDir, f)),
    })),
  );

  const hosts = await openHosts(envCfg, ctx.env);
  try {
    return await mapLimit(hosts, envCfg.concurrency, async (h) => {
      const steps: string[] = [];
      try {
        await setupHost(ctx, h, { publicKey, envFileBytes, agentFiles, steps, pull });
        ctx.log(`  ${h.host.name}  ready (${steps.join(', ')})`);
        return { host: h.host.name, ok: true, steps };
      } catch (err) {
        ctx.log(`  ${h.host.name}  FAILED: ${(err as Error).message}`);
        return { host: h.host.name, ok: false, steps, error: (err as Error).message };
      }
    });
  } finally {
    await closeHosts(hosts);
  }
}

async function setupHost(
  ctx: FleetContext,
  h: HostHandle,
  o: {
    publicKey: string;
    envFileBytes: Buffer | null;
    agentFiles: { name: string; bytes: Buffer }[];
    steps: string[];
    pull: PullPlan | null;
  },
): Promise<void> {
  const { config, envCfg } = ctx;
  const root = h.host.path;
  const must = async (argv: string[], what: string) => {
    const r = await h.t.exec(argv);
    if (r.code !== 0)
      throw new FerryError(`${what} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout.trim();
  };

  await must(setupDirsArgv(root), 'creating the layout');
  o.steps.push('layout');
  for (const f of o.agentFiles) await h.t.writeFile(join(agentDir(root), f.name), f.bytes, 0o644);
  o.steps.push('agent');
  await h.t.writeFile(join(root, '.ferry', 'trusted.pub'), `${o.publicKey}\n`, 0o644);
  o.steps.push('key');

  const nodePath = await must(['sh', '-c', 'command -v node'], 'finding node on the host');
  await h.t.writeFile(
    join(root, '.ferry', 'service.json'),
    serviceConfigJson({
      app: config.app.name,
      port: h.host.appPort,
      host: envCfg.service.bind,
      workers: envCfg.service.workers,
      healthPath: envCfg.health.path,
      healthTimeoutSec: envCfg.health.timeoutSeconds,
      mode: envCfg.service.mode,
      unitName: envCfg.service.unitName,
      env: config.app.env,
      nodePath,
      keepReleases: envCfg.keep,
      lockTtlSec: envCfg.lockTtlSeconds,
    }),
    0o644,
  );
  o.steps.push('service.json');

  const envPath = join(root, 'shared', '.env');
  if (o.envFileBytes) {
    await h.t.writeFile(envPath, o.envFileBytes, 0o600);
    o.steps.push('.env (replaced)');
  } else {
    // Secrets are the operator's: an absent .env gets an empty, private file, never an invented secret
    // (each host would invent a different one).
    await must(
      [
        'sh',
        '-c',
        'test -e "$1" || { umask 077; printf "# secrets for the service: KEY=VALUE\\n" > "$1"; }',
        'sh',
        envPath,
      ],
      'creating shared/.env',
    );
  }

  const version = await runAgent(h.t, root, 'version', {});
  if (!version.ok) throw new FerryError(`the installed agent does not run: ${version.error?.message}`);

  if (envCfg.service.mode === 'systemd') {
    const unit = systemdUnit({
      unitName: envCfg.service.unitName,
      user: envCfg.user ?? 'root',
      root,
      nodePath,
    });
    const staged = join(root, '.ferry', unitFileName(envCfg.service.unitName));
    await h.t.writeFile(staged, unit, 0o644);
    // Installing a unit needs root: the deploy user gets a sudo rule for exactly these commands
    // (docs/deploy.md). `sudo -n` fails at once instead of waiting for a password over SSH.
    await must(
      ['sudo', '-n', 'install', '-m', '0644', staged, unitPath(envCfg.service.unitName)],
      'installing the unit',
    );
    await must(systemctlArgv('daemon-reload'), 'systemctl daemon-reload');
    await must(systemctlArgv('enable', envCfg.service.unitName, { now: true }), 'systemctl enable --now');
    o.steps.push('systemd unit');
  } else {
    const r = await runAgent(h.t, root, 'service', { action: 'start' }, { who: ctx.who });
    if (!r.ok) throw new FerryError(`starting the service failed: ${r.error?.message}`);
    o.steps.push(r.already ? 'service running' : 'service started');
  }
  if (o.pull) await installPull(ctx, h, o.pull, nodePath, o.steps);
}
