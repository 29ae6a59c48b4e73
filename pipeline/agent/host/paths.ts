// Where everything lives under a host's root. The agent, the supervisor and the CLI's command builders all
// take paths from here so the layout is written down once (docs/agent.md draws it).
import { join } from 'node:path';

export function hostPaths(root: string) {
  const ferry = join(root, '.ferry');
  return {
    root,
    releases: join(root, 'releases'),
    shared: join(root, 'shared'),
    sharedEnv: join(root, 'shared', '.env'),
    sharedData: join(root, 'shared', 'data'),
    current: join(root, 'current'),
    /** Node runtimes shipped with releases: runtimes/<version>-<arch>/bin/node (agent/runtime/). */
    runtimes: join(root, 'runtimes'),
    ferry,
    /** Symlink to the runtime the agent and the supervisor run on, set by `ferry setup`. */
    agentRuntime: join(ferry, 'runtime'),
    /** The agent's ncc bundle is a folder: index.js plus the package.json that makes it ESM. */
    agentDir: join(ferry, 'agent'),
    agentEntry: join(ferry, 'agent', 'index.js'),
    trustedKey: join(ferry, 'trusted.pub'),
    serviceConfig: join(ferry, 'service.json'),
    journal: join(ferry, 'journal.json'),
    lock: join(ferry, 'lock'),
    lockInfo: join(ferry, 'lock', 'info.json'),
    history: join(ferry, 'history.jsonl'),
    state: join(ferry, 'state.json'),
    tmp: join(ferry, 'tmp'),
    supervisorPid: join(ferry, 'supervisor.pid'),
    supervisorState: join(ferry, 'supervisor.json'),
    /** What the agent asks of the next reload (its health timeout), written just before the SIGHUP. */
    reloadRequest: join(ferry, 'reload-request.json'),
    logs: join(ferry, 'logs'),
    serviceLog: join(ferry, 'logs', 'service.log'),
    /** Process mode: what the supervisor process printed outside service.log (a failure before it opened). */
    supervisorOut: join(ferry, 'logs', 'supervisor.out'),
    /** Maintenance mode, as `agent maintenance` last set it; the supervisor applies it on SIGUSR2 and at start. */
    maintenance: join(ferry, 'maintenance.json'),
  };
}

export type HostPaths = ReturnType<typeof hostPaths>;

export function releaseDir(paths: HostPaths, version: string): string {
  return join(paths.releases, version);
}

/** Relative, so the tree can be moved or mounted elsewhere without dangling links. */
export function currentLinkTarget(version: string): string {
  return `releases/${version}`;
}
