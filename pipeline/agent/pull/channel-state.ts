// .ferry/channel.json: the highest channel sequence this host accepted, and the version it named. It is
// what makes a replayed older channel detectable, so it only ever moves up, and it is written before the
// host acts on the channel (a crash mid-deploy must not let an older channel in afterwards).
import type { Channel } from '../../channels/channel';
import { AgentError } from '../errors';
import { readJson, writeJsonAtomic } from '../host/fsutil';
import type { HostPaths } from '../host/paths';
import { pullPaths } from './config';

export interface AcceptedChannel {
  sequence: number;
  version: string;
  issuedAt: string;
  expiresAt: string;
  acceptedAt: string;
}

/** null before the first channel; a damaged file fails closed (it is what stops replays). */
export async function readAcceptedChannel(paths: HostPaths): Promise<AcceptedChannel | null> {
  const file = pullPaths(paths).channel;
  let s: Partial<AcceptedChannel> | undefined;
  try {
    s = await readJson<Partial<AcceptedChannel>>(file);
  } catch {
    s = {};
  }
  if (s === undefined) return null;
  if (!Number.isSafeInteger(s.sequence) || typeof s.version !== 'string') {
    throw new AgentError('config', `${file} is damaged: the highest accepted channel is unknown`, {
      remedy: `check the registry's channel is genuine (ferry status --from-registry), then delete ${file}`,
    });
  }
  return s as AcceptedChannel;
}

/** Records `c` if it is newer than what was accepted; re-reads first so a concurrent run is not undone. */
export async function recordAcceptedChannel(paths: HostPaths, c: Channel): Promise<AcceptedChannel> {
  const held = await readAcceptedChannel(paths);
  if (held && held.sequence >= c.sequence) return held;
  const next: AcceptedChannel = {
    sequence: c.sequence,
    version: c.version,
    issuedAt: c.issuedAt,
    expiresAt: c.expiresAt,
    acceptedAt: new Date().toISOString(),
  };
  await writeJsonAtomic(pullPaths(paths).channel, next);
  return next;
}
