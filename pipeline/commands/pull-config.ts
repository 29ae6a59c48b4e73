// The text of .ferry/pull.json, which `ferry setup --pull` writes on each host. Validated with the agent's
// own parser, so setup cannot write a file `agent sync` would refuse.
import { type HostPullConfig, parsePullConfig } from '../agent/pull/config';

export type PullConfigInput = Omit<HostPullConfig, 'schema' | 'urlTtlSec'> & { urlTtlSec?: number };

export function pullConfigJson(input: PullConfigInput): string {
  const { config, problems } = parsePullConfig({ schema: 1, urlTtlSec: 900, ...input });
  if (!config) throw new Error(`invalid pull config:\n  ${problems.join('\n  ')}`);
  return `${JSON.stringify(config, null, 2)}\n`;
}
