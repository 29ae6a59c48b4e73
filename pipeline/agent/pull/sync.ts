// `agent sync`: pull mode. Read this environment's channel from the registry, refuse it if it is badly
// signed, for another environment, expired or older than one already accepted, and otherwise converge to
// its version through `deploy` itself (the same verify, download, switch and health gate as a push, with
// URLs this agent makes), then report to the registry. A push rollout in progress (the environment's lock
// in the registry) is left alone, and a version this host marked bad is not retried until the channel
// moves. Nothing here changes what the service runs except `deploy`.
import type { Channel } from '../../channels/channel';
import { verifyChannel } from '../../channels/channel';
import type { HostSyncStatus, SyncResult } from '../../channels/host-status';
import { CredentialsError } from '../../credentials/ecs-metadata';
import { OssRequestError } from '../../credentials/oss-object';
import { envLockKey } from '../../deploy/env-lock';
import { artifactKey, channelKey, releaseKeys } from '../../release/layout';
import type { AgentContext } from '../context';
import { AgentError, errorJson } from '../errors';
import { appendHistory, readHistory, readState } from '../host/state';
import { deploy, readTrustedKey } from '../install/deploy';
import { currentVersion } from '../install/switch';
import type { OpOutcome } from '../outcome';
import { loadServiceConfig } from '../service/config';
import { readAcceptedChannel, recordAcceptedChannel } from './channel-state';
import { loadPullConfig } from './config';
import { openPullRegistry, type PullRegistry } from './registry';
import { writeSyncStatus } from './sync-status';

export interface SyncOptions {
  healthTimeoutSec?: number;
}

interface Converged {
  outcome: OpOutcome;
  result: SyncResult;
  channel: Channel | null;
  changed: boolean;
  note?: { code: string; message: string };
}

export async function sync(ctx: AgentContext, o: SyncOptions): Promise<OpOutcome> {
  const started = Date.now();
  const pull = await loadPullConfig(ctx.paths);
  const service = await loadServiceConfig(ctx.paths.serviceConfig);
  if (service.app !== pull.app) {
    throw new AgentError('config', `pull.json is for app "${pull.app}", service.json for "${service.app}"`, {
      remedy: 'rerun `ferry setup <env> --pull`',
    });
  }
  const registry = openPullRegistry(pull);
  let c: Converged;
  try {
    c = await converge(ctx, pull, registry, o);
  } catch (err) {
    const refused = err instanceof AgentError && err.code.startsWith('channel_');
    const badSig = err instanceof AgentError && err.code === 'bad_signature' && err.step === 'channel';
    c = {
      outcome: { ok: false, error: err, fields: {} },
      result: refused || badSig ? 'refused' : 'failed',
      channel: null,
      changed: false,
    };
    if (c.result === 'refused') await noteRefusal(ctx, err as AgentError);
  }
  const state = await readState(ctx.paths);
  const accepted = await readAcceptedChannel(ctx.paths).catch(() => null);
  const status: Omit<HostSyncStatus, 'agentVersion'> = {
    schema: 1,
    app: pull.app,
    env: pull.env,
    host: pull.host,
    version: await currentVersion(ctx.paths),
    previous: state.previous,
    channel: c.channel
      ? { version: c.channel.version, sequence: c.channel.sequence, expiresAt: c.channel.expiresAt }
      : null,
    acceptedSequence: accepted?.sequence ?? null,
    lastSync: new Date().toISOString(),
    result: c.result,
    changed: c.changed,
    error: c.outcome.error !== undefined ? errorJson(c.outcome.error) : (c.note ?? null),
    durationMs: Date.now() - started,
  };
  const written = await writeSyncStatus(ctx, registry, pull.registry.prefix, status);
  return {
    ...c.outcome,
    fields: {
      ...c.outcome.fields,
      host: pull.host,
      env: pull.env,
      result: c.result,
      changed: c.changed,
      channel: status.channel,
      acceptedSequence: status.acceptedSequence,
      current: status.version,
      ...(c.note ? { note: c.note } : {}),
      status: written,
    },
  };
}

async function converge(
  ctx: AgentContext,
  pull: Awaited<ReturnType<typeof loadPullConfig>>,
  registry: PullRegistry,
  o: SyncOptions,
): Promise<Converged> {
  const { paths, report } = ctx;
  const { prefix } = pull.registry;
  const trusted = await readTrustedKey(paths.trustedKey);
  const key = channelKey(prefix, pull.app, pull.env);
  report.step('channel', { env: pull.env, registry: registry.description });
  const bytes = await readRegistry(() => registry.get(key), `the channel ${key}`);
  if (bytes === null) {
    const note = { code: 'no_channel', message: `no channel for ${pull.env} yet: nothing to converge to` };
    report.say(`sync: ${note.message} (ferry promote <version> ${pull.env} issues one)`);
    return { outcome: { ok: true, fields: {} }, result: 'skipped', channel: null, changed: false, note };
  }

  const verdict = verifyChannel(bytes, {
    trustedPublicKey: trusted,
    app: pull.app,
    env: pull.env,
    now: Date.now(),
    accepted: await readAcceptedChannel(paths),
  });
  if (!verdict.ok) {
    throw new AgentError(verdict.code, `channel refused: ${verdict.reason}`, {
      step: 'channel',
      remedy:
        verdict.code === 'channel_expired'
          ? `re-issue it: ferry promote --refresh ${pull.env} (CI should do this on a schedule shorter than the channel TTL)`
          : 'this host keeps serving what it runs; check who can write the registry, then ferry promote a version',
    });
  }
  const channel = verdict.channel;
  await recordAcceptedChannel(paths, channel);
  report.event('channel', {
    version: channel.version,
    sequence: channel.sequence,
    expiresAt: channel.expiresAt,
  });

  const push = await pushInProgress(registry, prefix, pull.app, pull.env);
  if (push) {
    const note = { code: 'push_in_progress', message: `a push ${push} holds the environment lock` };
    report.say(`sync: ${note.message}; not interfering`);
    return { outcome: { ok: true, fields: {} }, result: 'skipped', channel, changed: false, note };
  }

  const current = await currentVersion(paths);
  if (current === channel.version) {
    return { outcome: { ok: true, fields: { version: current } }, result: 'ok', channel, changed: false };
  }
  if ((await readState(paths)).bad.includes(channel.version)) {
    // Retrying it every run would only fail again (and churn history): wait for the channel to move.
    const error = new AgentError(
      'bad_release',
      `${channel.version} is marked bad on this host; staying on ${current ?? 'nothing'}`,
      { step: 'verify', remedy: `promote a fixed version (ferry promote <version> ${pull.env})` },
    );
    return { outcome: { ok: false, error, fields: {} }, result: 'failed', channel, changed: false };
  }

  const keys = releaseKeys(prefix, pull.app, channel.version);
  const [manifestUrl, signatureUrl] = await readRegistry(
    () => Promise.all([keys.manifest, keys.signature].map((k) => registry.url(k, pull.urlTtlSec))),
    'release URLs',
  );
  const outcome = await deploy(ctx, {
    version: channel.version,
    manifestUrl: manifestUrl as string,
    signatureUrl: signatureUrl as string,
    // The artifact's name (.tar.br, or .tar.gz for an older release) is in the signed manifest, read
    // inside deploy: its URL is made once that is verified.
    artifactUrl: (file) =>
      readRegistry(
        () => registry.url(artifactKey(prefix, pull.app, channel.version, file), pull.urlTtlSec),
        'the artifact URL',
      ),
    // The runtime key is in the signed manifest, read inside deploy: a URL is made once it is known.
    runtime: (key) => readRegistry(() => registry.url(key, pull.urlTtlSec), 'the runtime URL'),
    healthTimeoutSec: o.healthTimeoutSec ?? pull.healthTimeoutSec,
    keep: pull.keep,
  });
  if (!outcome.ok && outcome.error instanceof AgentError && outcome.error.code === 'locked') {
    // Someone else is changing this host right now (a push, or an operator): next run.
    return {
      outcome: { ok: true, fields: outcome.fields },
      result: 'skipped',
      channel,
      changed: false,
      note: errorJson(outcome.error),
    };
  }
  const result: SyncResult = outcome.ok ? 'ok' : outcome.fields.rolledBack ? 'rolled-back' : 'failed';
  return { outcome, result, channel, changed: outcome.ok };
}

/** The push rollout holding the environment lock, if any and not expired. */
async function pushInProgress(registry: PullRegistry, prefix: string, app: string, env: string) {
  const bytes = await readRegistry(() => registry.get(envLockKey(prefix, app, env)), 'the environment lock');
  if (!bytes) return null;
  try {
    const lock = JSON.parse(bytes.toString()) as { op?: string; who?: string; expiresAt?: string };
    if (lock.op !== 'deploy' && lock.op !== 'rollback') return null;
    if (!lock.expiresAt || Date.parse(lock.expiresAt) <= Date.now()) return null;
    return `${lock.op} by ${lock.who ?? '?'}`;
  } catch {
    return null;
  }
}

async function readRegistry<T>(fn: () => Promise<T>, what: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CredentialsError) {
      throw new AgentError('credentials', err.message, { step: 'channel', remedy: err.remedy, cause: err });
    }
    if (err instanceof OssRequestError && (err.credentialsRefused || err.status === 403)) {
      throw new AgentError('credentials', `OSS refused reading ${what}: ${err.message}`, {
        step: 'channel',
        remedy:
          'the RAM role needs oss:GetObject on the registry prefix and oss:PutObject on its status/ folder',
        cause: err,
      });
    }
    throw new AgentError('registry_failed', `could not read ${what}: ${(err as Error).message}`, {
      step: 'channel',
      cause: err,
    });
  }
}

/** A refused channel is a security event worth a line in history, once per distinct refusal. */
async function noteRefusal(ctx: AgentContext, err: AgentError): Promise<void> {
  const last = (await readHistory(ctx.paths, 1))[0];
  if (last?.op === 'sync' && last.error?.message === err.message) return;
  await appendHistory(ctx.paths, {
    who: ctx.who,
    op: 'sync',
    version: null,
    from: await currentVersion(ctx.paths),
    result: 'failed',
    error: errorJson(err),
  });
}
