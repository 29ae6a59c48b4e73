// The text of .ferry/service.json, which setup writes on each host. Validated with the agent's own
// parser, so setup cannot write a file the agent would refuse.
import { parseServiceConfig, type ServiceConfig } from '../agent/service/config';

export type ServiceConfigInput = Partial<ServiceConfig> & Pick<ServiceConfig, 'app' | 'port'>;

export function serviceConfigJson(input: ServiceConfigInput): string {
  const { config, problems } = parseServiceConfig(input);
  if (!config) throw new Error(`invalid service config:\n  ${problems.join('\n  ')}`);
  return `${JSON.stringify(config, null, 2)}\n`;
}
