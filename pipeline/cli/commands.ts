// The command table. To add a command (setup, deploy, rollback, status, unlock, history, promote, ...):
//   1. write pipeline/cli/commands/<name>.ts exporting `command: Command` (see ./command.ts; build.ts is a
//      small example), throwing FerryError/UsageError/ConfigError for expected failures;
//   2. add a row here. Modules load lazily, so a command's dependencies cost nothing to the others.
import type { CommandEntry } from './command';

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'init',
    summary: 'set up Ferry in a Node project: releases.yaml, a signing key, CI templates',
    load: () => import('./commands/init'),
  },
  {
    name: 'build',
    summary: 'bundle the app with ncc into a reproducible .tar.br',
    load: () => import('./commands/build'),
  },
  {
    name: 'publish',
    summary: 'sign a release and upload it to the registry',
    load: () => import('./commands/publish'),
  },
  {
    name: 'verify',
    summary: 'download a published release and check its signature and checksums',
    load: () => import('./commands/verify'),
  },
  {
    name: 'diff',
    summary: 'compare two published releases: files, sizes, runtime, packages, settings',
    load: () => import('./commands/diff'),
  },
  {
    name: 'trace',
    summary: "decode a stack trace from a host's log with the release's source map",
    load: () => import('./commands/trace'),
  },
  {
    name: 'releases',
    summary: 'list published versions and where they run',
    load: () => import('./commands/releases'),
  },
  {
    name: 'gc',
    summary: 'find (and with --delete remove) Node runtimes no published release uses',
    load: () => import('./commands/gc'),
  },
  {
    name: 'keygen',
    summary: 'create the ed25519 key pair that signs releases',
    load: () => import('./commands/keygen'),
  },
  {
    name: 'token',
    summary: 'mint an API bearer token for the storage service',
    load: () => import('./commands/token'),
  },
  {
    name: 'setup',
    summary: 'prepare every host of an environment: layout, agent, key, service',
    load: () => import('./commands/setup'),
  },
  {
    name: 'deploy',
    summary: 'roll a release out to an environment, canary first, health-gated',
    load: () => import('./commands/deploy'),
  },
  {
    name: 'rollback',
    summary: 'switch an environment back to its previous release (no download)',
    load: () => import('./commands/rollback'),
  },
  {
    name: 'promote',
    summary: 'move the signed channel that pull-mode hosts converge to',
    load: () => import('./commands/promote'),
  },
  {
    name: 'status',
    summary: 'show what every host of an environment runs, and its health',
    load: () => import('./commands/status'),
  },
  {
    name: 'history',
    summary: 'show the audit log of an environment',
    load: () => import('./commands/history'),
  },
  {
    name: 'notify',
    summary: 'send a test message to every notification target of an environment',
    load: () => import('./commands/notify'),
  },
  {
    name: 'unlock',
    summary: "remove a dead run's deploy lock",
    load: () => import('./commands/unlock'),
  },
  {
    name: 'logs',
    summary: "print (or follow) the app's log from every host, merged by time",
    load: () => import('./commands/logs'),
  },
  {
    name: 'maintenance',
    summary: 'turn maintenance mode on or off: users get 503 + Retry-After, health checks pass',
    load: () => import('./commands/maintenance'),
  },
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
