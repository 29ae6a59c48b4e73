// `agent status`: everything the CLI shows for a host, in one JSON object. Read-only and lock-free, so it
// works while a deploy runs (and shows that deploy's lock and journal).

import type { AgentContext } from '../context';
import { listReleases } from '../install/releases';
import { currentVersion } from '../install/switch';
import { listRuntimes } from '../runtime/layout';
import { loadServiceConfig, type ServiceConfig } from '../service/config';
import { probe } from '../service/health';
import { maintenanceStatus, readMaintenanceFlag } from '../service/maintenance';
import { readSupervisorState, runningSupervisor } from '../service/supervisor-state';
import { AGENT_PROTOCOL, AGENT_VERSION } from '../version';
import { readJournal } from './journal';
import { readLock } from './lock';
import { readHistory, readState } from './state';

export async function status(
  ctx: AgentContext,
  opts: { health?: boolean } = {},
): Promise<Record<string, unknown>> {
  const { paths } = ctx;
  let config: ServiceConfig | null = null;
  let configError: string | null = null;
  try {
    config = await loadServiceConfig(paths.serviceConfig);
  } catch (err) {
    configError = (err as Error).message;
  }
  const [state, current, releases, lock, journal, history, sup, pid, runtimes, flag] = await Promise.all([
    readState(paths),
    currentVersion(paths),
    listReleases(paths),
    readLock(paths),
    readJournal(paths),
    readHistory(paths, 1),
    readSupervisorState(paths),
    runningSupervisor(paths),
    listRuntimes(paths),
    readMaintenanceFlag(paths),
  ]);
  const probed =
    config && opts.health !== false ? await probe(config) : { ok: false, error: configError ?? 'not probed' };
  // An app without a version endpoint cannot say which release answered; the supervisor can (it gated
  // the serving generation), so that is the version reported, and said to come from it.
  const health =
    probed.ok && config?.versionPath === null && pid !== null && sup?.version
      ? { ...probed, version: sup.version, versionFrom: 'supervisor' as const }
      : probed;
  return {
    current,
    previous: state.previous,
    lastGood: state.lastGood,
    bad: state.bad,
    releases: releases.map((r) => ({
      version: r.version,
      installedAt: r.installedAt,
      bad: state.bad.includes(r.version),
      current: r.version === current,
    })),
    agentVersion: AGENT_VERSION,
    protocol: AGENT_PROTOCOL,
    // Which Node serves (the release's pin), which the supervisor and this agent run on, and what is on disk.
    runtime: {
      serving: pid !== null ? (sup?.runtime ?? null) : null,
      supervisor: pid !== null ? (sup?.supervisorNode ?? null) : null,
      agent: { node: process.versions.node, path: process.execPath },
      installed: runtimes.map((r) => ({
        node: r.marker.version,
        arch: r.marker.arch,
        sha256: r.marker.sha256,
        dir: r.dir,
      })),
    },
    lock,
    health,
    service: {
      mode: config?.mode ?? null,
      unit: config?.mode === 'systemd' ? config.unitName : null,
      pid,
      running: pid !== null,
      phase: pid !== null ? (sup?.phase ?? null) : 'stopped',
      generation: sup?.generation ?? null,
      version: pid !== null ? (sup?.version ?? null) : null,
      workers: pid !== null ? (sup?.workers ?? []) : [],
      lastReload: sup?.lastReload ?? null,
      crashes: sup?.crashes ?? null,
    },
    maintenance: maintenanceStatus(flag, sup?.maintenance, pid !== null && sup?.pid === pid),
    lastAction: history[0] ?? null,
    journal,
    ...(configError ? { configError } : {}),
  };
}
