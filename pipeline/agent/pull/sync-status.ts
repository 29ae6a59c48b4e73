// Each sync ends by writing the host's status object to the registry, so `ferry status --from-registry`
// sees every host without SSH. Best effort: a registry hiccup here must not turn a good sync into a failed
// one; the next run writes it again.
import { type HostSyncStatus, serializeHostStatus } from '../../channels/host-status';
import { hostStatusKey } from '../../release/layout';
import type { AgentContext } from '../context';
import { AGENT_VERSION } from '../version';
import type { PullRegistry } from './registry';

export async function writeSyncStatus(
  ctx: AgentContext,
  registry: PullRegistry,
  prefix: string,
  status: Omit<HostSyncStatus, 'agentVersion'>,
): Promise<{ written: boolean; key: string; error?: string }> {
  const key = hostStatusKey(prefix, status.app, status.env, status.host);
  try {
    await registry.put(key, serializeHostStatus({ ...status, agentVersion: AGENT_VERSION }));
    return { written: true, key };
  } catch (err) {
    const error = (err as Error).message;
    ctx.report.say(`sync: could not write the status object ${key}: ${error}`);
    return { written: false, key, error };
  }
}
