// `ferry deploy` and `ferry rollback` on an environment in pull mode move its channel to the version the
// hosts landed on. Otherwise a pulling host would, at its next sync, undo the push: re-upgrade after a
// rollback, or go back after a deploy. The move happens under the rollout's environment lock, after the
// hosts succeeded; the signing key is checked before the rollout so a missing key fails before any host
// changed.

import type { FleetContext } from '../deploy/context';
import { ConfigError, FerryError } from '../errors';
import { checkSigningKey, signingKeyFromEnv } from '../publish/signing-key';
import { channelKey } from '../release/layout';
import type { Channel } from './channel';
import { DEFAULT_CHANNEL_TTL_SECONDS, issueChannel } from './issue';

export interface ChannelFollower {
  /** Issues the channel for `version`; the error it throws says what pulling hosts will do. */
  move(version: string): Promise<Channel>;
}

/** null when the environment has no pull: block and no channel yet (plain push mode). */
export async function channelFollower(ctx: FleetContext): Promise<ChannelFollower | null> {
  const { config, envCfg } = ctx;
  const { prefix } = config.registry;
  const app = config.app.name;
  const exists = (await ctx.registry.head(channelKey(prefix, app, envCfg.name))) !== null;
  if (!envCfg.pull && !exists) return null;
  let privateKeyPem: string;
  let trusted: string;
  try {
    // FleetContext has no cwd of its own; the CLI runs in the caller's directory, as publish resolves it.
    privateKeyPem = signingKeyFromEnv(ctx.env, process.cwd());
    trusted = checkSigningKey(privateKeyPem, config.signing.publicKey, config.file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(
      `${envCfg.name} is in pull mode, and moving its channel needs the signing key: ${err.message}`,
      {
        remedy: err.remedy ?? 'set FERRY_SIGNING_KEY',
      },
    );
  }
  return {
    async move(version) {
      try {
        const { channel, previous } = await issueChannel(ctx.registry, {
          prefix,
          app,
          env: envCfg.name,
          version,
          ttlSeconds: envCfg.pull?.channelTtlSeconds ?? DEFAULT_CHANNEL_TTL_SECONDS,
          by: ctx.who,
          privateKeyPem,
          trustedPublicKey: trusted,
        });
        ctx.log(
          `channel ${envCfg.name}: ${previous?.version ?? '(none)'} → ${version} (sequence ${channel.sequence}, expires ${channel.expiresAt})`,
        );
        return channel;
      } catch (err) {
        throw new FerryError(
          `the hosts run ${version}, but the channel of ${envCfg.name} could not be moved: ${(err as Error).message}`,
          {
            remedy: `run ferry promote ${version} ${envCfg.name} now: until then, pulling hosts converge back to the channel's version`,
            cause: err,
          },
        );
      }
    },
  };
}
