// `ferry setup <env>`: makes each host ready to receive releases, starting from a host with no Node. The
// order matters: a read-only probe first (can this host run the pinned Node at all?), then the layout, the
// runtime, the agent and its files, the service. Idempotent: each file is compared with what the host has
// and rewritten only when it differs, shared/.env is never overwritten unless an env file is given, and
// the service is started only if it is not running, so a second run changes nothing and says so.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildAgentBundle } from '../agent/bundle';
import { agentDir, agentNodePath, setupDirsArgv } from '../commands/agent';
import { serviceConfigJson } from '../commands/service-config';
import { systemctlArgv, systemdUnit, unitFileName, unitPath } from '../commands/systemd';
import { ConfigError, FerryError } from '../errors';
import { runAgent } from './agent-client';
import type { FleetContext } from './context';
import { type FileToWrite, writeChanged } from './host-files';
import { mapLimit } from './plan';
import { closeHosts, type HostHandle, openHosts } from './session';
import { installPull, type PullPlan, planPull } from './setup-pull';
import { bootstrapRuntime, checkHostFits, resolveSetupRuntime, type SetupRuntime } from './setup-runtime';

export interface SetupOutcome {
  host: string;
  ok: boolean;
  /** What this run changed, in order; empty when the host was already set up exactly so. */
  steps: string[];
  /** The Node runtime the agent and supervisor run on. */
  runtime?: { node: string; arch: string; release: string };
  error?: string;
}

export async function setupEnv(
  ctx: FleetContext,
  opts: { envFile?: string; bundleDir: string; pull?: boolean; version?: string },
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
  const runtime = await resolveSetupRuntime(ctx, opts.version);
  ctx.log(
    runtime.pin
      ? `hosts run Node ${runtime.pin.version} (pinned by ${config.app.name} ${runtime.release})`
      : runtime.release
        ? `warning: ${config.app.name} ${runtime.release} pins no Node runtime, so hosts need their own node (add app.runtime to releases.yaml to ship one)`
        : `warning: nothing of ${config.app.name} is published yet, so hosts use their own node for now; run setup again after ferry publish to ship the runtime`,
  );
  ctx.log(`building the host agent…`);
  const bundle = await buildAgentBundle(opts.bundleDir);
  const agentFiles = await Promise.all(
    bundle.files.map(async (f) => ({ name: f, bytes: await readFile(join(opts.bundleDir, f)) })),
  );

  const hosts = await openHosts(envCfg, ctx.env);
  try {
    return await mapLimit(hosts, envCfg.concurrency, async (h) => {
      const steps: string[] = [];
      try {
        const arch = await setupHost(ctx, h, { publicKey, envFileBytes, agentFiles, steps, pull, runtime });
        ctx.log(`  ${h.host.name}  ready (${steps.length > 0 ? steps.join(', ') : 'nothing changed'})`);
        return {
          host: h.host.name,
          ok: true,
          steps,
          runtime: { node: runtime.pin?.version ?? 'host', arch, release: runtime.release ?? '-' },
        };
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
    runtime: SetupRuntime;
  },
): Promise<string> {
  const { config, envCfg } = ctx;
  const root = h.host.path;
  const must = async (argv: string[], what: string) => {
    const r = await h.t.exec(argv);
    if (r.code !== 0)
      throw new FerryError(`${what} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout.trim();
  };

  // Read-only until this passes: a host that cannot run the pinned Node is left exactly as it was.
  const fit = await checkHostFits(h, o.runtime);
  await must(setupDirsArgv(root), 'creating the layout');
  const rt = await bootstrapRuntime(ctx, h, o.runtime, fit);
  if (rt === 'installed') o.steps.push(`node ${o.runtime.pin?.version} (${fit?.arch})`);
  if (rt === 'host node') o.steps.push("the host's node");
  const nodePath = agentNodePath(root);

  const files: FileToWrite[] = [
    ...o.agentFiles.map((f) => ({
      path: join(agentDir(root), f.name),
      bytes: f.bytes,
      mode: 0o644,
      label: 'agent',
    })),
    {
      path: join(root, '.ferry', 'trusted.pub'),
      bytes: Buffer.from(`${o.publicKey}\n`),
      mode: 0o644,
      label: 'key',
    },
    {
      path: join(root, '.ferry', 'service.json'),
      bytes: Buffer.from(
        serviceConfigJson({
          app: config.app.name,
          port: h.host.appPort,
          host: envCfg.service.bind,
          workers: envCfg.service.workers,
          standbySec: envCfg.service.standbySeconds,
          healthPath: envCfg.health.path,
          versionPath: envCfg.health.versionPath,
          healthTimeoutSec: envCfg.health.timeoutSeconds,
          mode: envCfg.service.mode,
          unitName: envCfg.service.unitName,
          env: config.app.env,
          nodePath,
          agentRuntime: o.runtime.pin && fit ? `${o.runtime.pin.version} ${fit.arch}` : 'host',
          keepReleases: envCfg.keep,
          lockTtlSec: envCfg.lockTtlSeconds,
          ...(envCfg.service.logFileMiB ? { logMaxBytes: envCfg.service.logFileMiB * 1024 * 1024 } : {}),
          ...(envCfg.service.logFiles ? { logFiles: envCfg.service.logFiles } : {}),
        }),
      ),
      mode: 0o644,
      label: 'service.json',
    },
  ];
  const envPath = join(root, 'shared', '.env');
  if (o.envFileBytes)
    files.push({ path: envPath, bytes: o.envFileBytes, mode: 0o600, label: '.env (replaced)' });
  const unit =
    envCfg.service.mode === 'systemd'
      ? systemdUnit({
          unitName: envCfg.service.unitName,
          user: envCfg.user ?? 'root',
          root,
          nodePath,
          description: `${envCfg.service.unitName} (Ferry supervisor, agent on node ${o.runtime.pin?.version ?? 'of the host'})`,
        })
      : null;
  const staged = join(root, '.ferry', unitFileName(envCfg.service.unitName));
  if (unit !== null)
    files.push({ path: staged, bytes: Buffer.from(unit), mode: 0o644, label: 'systemd unit' });
  const changed = await writeChanged(h, files, o.steps);

  if (!o.envFileBytes) {
    // Secrets are the operator's: an absent .env gets an empty, private file, never an invented secret
    // (each host would invent a different one).
    const made = await must(
      [
        'sh',
        '-c',
        'test -e "$1" || { umask 077; printf "# secrets for the service: KEY=VALUE\\n" > "$1"; echo created; }',
        'sh',
        envPath,
      ],
      'creating shared/.env',
    );
    if (made === 'created') o.steps.push('.env (empty)');
  }

  const version = await runAgent(h.t, root, 'version', {});
  if (!version.ok) throw new FerryError(`the installed agent does not run: ${version.error?.message}`);

  if (envCfg.service.mode === 'systemd') {
    const name = envCfg.service.unitName;
    if (changed.has(staged)) {
      // Installing a unit needs root: the deploy user gets a sudo rule for exactly these commands
      // (`ferry setup <env> --print-sudoers`). `sudo -n` fails at once instead of waiting for a password.
      await must(['sudo', '-n', 'install', '-m', '0644', staged, unitPath(name)], 'installing the unit');
      await must(systemctlArgv('daemon-reload'), 'systemctl daemon-reload');
    }
    const active = await h.t.exec(systemctlArgv('is-active', name, { sudo: false }));
    if (active.stdout.trim() !== 'active' || changed.has(staged)) {
      await must(systemctlArgv('enable', name, { now: true }), 'systemctl enable --now');
      if (active.stdout.trim() !== 'active') o.steps.push('service started');
    }
  } else {
    const r = await runAgent(h.t, root, 'service', { action: 'start' }, { who: ctx.who });
    if (!r.ok) throw new FerryError(`starting the service failed: ${r.error?.message}`);
    if (!r.already) o.steps.push('service started');
  }
  if (o.pull) await installPull(ctx, h, o.pull, nodePath, o.steps);
  return fit?.arch ?? process.arch;
}
