// What every command gets: where the host lives, who is acting, where to report, the environment.

import type { HostPaths } from './host/paths';
import type { Reporter } from './output';

export interface AgentContext {
  paths: HostPaths;
  who: string;
  report: Reporter;
  env: NodeJS.ProcessEnv;
}
