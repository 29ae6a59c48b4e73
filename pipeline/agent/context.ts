// What every command gets: where the host lives, who is acting, where to report, the environment.
import type { Reporter } from './output';
import type { HostPaths } from './paths';

export interface AgentContext {
  paths: HostPaths;
  who: string;
  report: Reporter;
  env: NodeJS.ProcessEnv;
}
