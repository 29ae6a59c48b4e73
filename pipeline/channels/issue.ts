// Issuing channels in the registry (the operator's and CI's side; hosts only read them). The caller holds
// the environment's lock, so two issuers cannot both write sequence N+1.
import { VerificationError } from '../errors';
import type { Registry } from '../registry/registry';
import { channelKey } from '../release/layout';
import { type Channel, parseChannel, serializeChannel, signChannel, verifyChannel } from './channel';

export const DEFAULT_CHANNEL_TTL_SECONDS = 7 * 24 * 3600;

export interface StoredChannel {
  channel: Channel;
  /** Whether it verifies with the configured key (null: no key configured to check with). */
  signatureOk: boolean | null;
  problem?: string;
}

/** The environment's channel as stored, or null; unparseable channels throw (someone must look). */
export async function readChannel(
  registry: Registry,
  prefix: string,
  app: string,
  env: string,
  trustedPublicKey: string | null,
): Promise<StoredChannel | null> {
  const bytes = await registry.get(channelKey(prefix, app, env));
  if (bytes === null) return null;
  let channel: Channel;
  try {
    channel = parseChannel(bytes);
  } catch (err) {
    throw new VerificationError(`the channel of ${env} is unreadable: ${(err as Error).message}`, {
      remedy: `inspect ${channelKey(prefix, app, env)}; only ferry promote should write it`,
    });
  }
  if (!trustedPublicKey) return { channel, signatureOk: null };
  // Expiry and sequence are the hosts' business; here only authenticity matters.
  const v = verifyChannel(bytes, { trustedPublicKey, app, env, now: 0 });
  return v.ok ? { channel, signatureOk: true } : { channel, signatureOk: false, problem: v.reason };
}

export interface IssueInput {
  prefix: string;
  app: string;
  env: string;
  version: string;
  ttlSeconds: number;
  by: string;
  privateKeyPem: string;
  trustedPublicKey: string;
  /** Start from this sequence instead of previous + 1 (recovery after a lost channel; must be higher). */
  sequence?: number;
  now?: number;
}

export async function issueChannel(
  registry: Registry,
  input: IssueInput,
): Promise<{ channel: Channel; previous: Channel | null }> {
  const stored = await readChannel(registry, input.prefix, input.app, input.env, input.trustedPublicKey);
  if (stored && stored.signatureOk === false && input.sequence === undefined) {
    throw new VerificationError(`the current channel of ${input.env} does not verify: ${stored.problem}`, {
      remedy:
        'someone other than ferry wrote it: check who can write the bucket. To replace it, rerun with --sequence N above the highest sequence any host accepted (see ferry status --from-registry)',
    });
  }
  const previous = stored?.channel ?? null;
  const floor = previous?.sequence ?? 0;
  if (input.sequence !== undefined && input.sequence <= floor && stored?.signatureOk !== false) {
    throw new VerificationError(
      `--sequence ${input.sequence} is not above the current channel's ${floor}: hosts would refuse it`,
    );
  }
  const now = input.now ?? Date.now();
  const channel = signChannel(
    {
      app: input.app,
      env: input.env,
      version: input.version,
      sequence: input.sequence ?? floor + 1,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + input.ttlSeconds * 1000).toISOString(),
      by: input.by,
    },
    input.privateKeyPem,
  );
  await registry.put(channelKey(input.prefix, input.app, input.env), serializeChannel(channel), {
    contentType: 'application/json',
  });
  return { channel, previous };
}
