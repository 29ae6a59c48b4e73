// `ferry promote <version> <env>` and `ferry promote --refresh <env>`: issue the environment's channel
// under its lock (sequence = previous + 1) and record it in the audit log. Hosts in pull mode converge to
// it at their next sync. --refresh re-issues the current version with a new expiry: CI runs it on a
// schedule shorter than the channel TTL, or hosts start refusing the channel as frozen.

import { appendAudit } from '../deploy/audit';
import type { FleetContext } from '../deploy/context';
import { resolveVersion } from '../deploy/deploy';
import { acquireEnvLock, envLockKey, type LockedRun, type LockNote, releaseAfter } from '../deploy/env-lock';
import { FerryError, UsageError } from '../errors';
import { baseOf, notifierFor, promoted } from '../notify/fleet-events';
import { checkSigningKey, signingKeyFromEnv } from '../publish/signing-key';
import { channelKey } from '../release/layout';
import { DEFAULT_CHANNEL_TTL_SECONDS, issueChannel, readChannel } from './issue';

export interface PromoteOptions {
  /** Required unless refresh. */
  version?: string;
  refresh?: boolean;
  ttlSeconds?: number;
  sequence?: number;
  cwd: string;
}

export interface PromoteResult {
  env: string;
  version: string;
  sequence: number;
  issuedAt: string;
  expiresAt: string;
  previous: { version: string; sequence: number } | null;
  key: string;
  /** Set when the run could not release the environment lock (the command exits 7). */
  lock?: LockNote;
}

export async function promoteEnv(ctx: FleetContext, o: PromoteOptions): Promise<PromoteResult> {
  const { config, envCfg } = ctx;
  const { prefix } = config.registry;
  const app = config.app.name;
  const privateKeyPem = signingKeyFromEnv(ctx.env, o.cwd);
  const trusted = checkSigningKey(privateKeyPem, config.signing.publicKey, config.file);

  let version: string;
  if (o.refresh) {
    const current = await readChannel(ctx.registry, prefix, app, envCfg.name, trusted);
    if (!current) {
      throw new UsageError(`${envCfg.name} has no channel to refresh`, {
        remedy: `issue one first: ferry promote <version> ${envCfg.name}`,
      });
    }
    version = current.channel.version;
  } else {
    if (!o.version) throw new UsageError('which version?', { remedy: 'ferry promote <version> <env>' });
    version = await resolveVersion(ctx, o.version);
  }
  if (!envCfg.pull) {
    ctx.log(
      `note: environments.${envCfg.name} has no pull: block; hosts follow the channel once set up with ferry setup ${envCfg.name} --pull`,
    );
  }

  const op = o.refresh ? 'refresh' : 'promote';
  const lock = await acquireEnvLock(ctx.registry, envLockKey(prefix, app, envCfg.name), {
    env: envCfg.name,
    who: ctx.who,
    op,
    version,
    ttlSeconds: envCfg.lockTtlSeconds,
  });
  const run: LockedRun<PromoteResult> = {};
  const notifier = notifierFor(ctx);
  try {
    const { channel, previous } = await issueChannel(ctx.registry, {
      prefix,
      app,
      env: envCfg.name,
      version,
      ttlSeconds: o.ttlSeconds ?? envCfg.pull?.channelTtlSeconds ?? DEFAULT_CHANNEL_TTL_SECONDS,
      by: ctx.who,
      privateKeyPem,
      trustedPublicKey: trusted,
      ...(o.sequence !== undefined ? { sequence: o.sequence } : {}),
    });
    if (o.refresh && previous && previous.version !== version) {
      // The lock makes this impossible unless someone bypassed ferry; say so rather than hide it.
      throw new FerryError(`the channel moved to ${previous.version} while refreshing ${version}`);
    }
    await appendAudit(ctx.registry, prefix, app, {
      time: channel.issuedAt,
      env: envCfg.name,
      who: ctx.who,
      op,
      version,
      from: previous?.version ?? null,
      result: 'ok',
    });
    // A refresh only renews the expiry: nothing moved, nobody needs telling.
    if (op === 'promote') {
      notifier.emit(
        promoted(baseOf(ctx), { version, from: previous?.version ?? null, sequence: channel.sequence }),
      );
    }
    run.result = {
      env: envCfg.name,
      version,
      sequence: channel.sequence,
      issuedAt: channel.issuedAt,
      expiresAt: channel.expiresAt,
      previous: previous ? { version: previous.version, sequence: previous.sequence } : null,
      key: channelKey(prefix, app, envCfg.name),
    };
    return run.result;
  } catch (err) {
    run.failure = err;
    throw err;
  } finally {
    await releaseAfter(lock, run);
    await notifier.flush();
  }
}
