// Rules the JSON schema cannot express: they depend on another key (the transport), on several entries
// together (unique names and ports), or on parsing a value (host addresses, percentages).
import { isIP } from 'node:net';
import { Value } from 'typebox/value';
import { parseNodeSpec, runtimeFromProblem } from '../runtime/spec';
import { hookProblems, notificationProblems } from './hook-and-notification-checks';
import type { Problem } from './problems';
import {
  type EnvironmentFile,
  EnvironmentSchema,
  REGISTRY_BRANCHES,
  type ReleasesFile,
  type RuntimeFile,
  RuntimeSchema,
} from './schema';

const HOSTNAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export function isHostAddress(value: string): boolean {
  return isIP(value) !== 0 || HOSTNAME.test(value);
}

/**
 * Runs on the parts that passed the schema (each environment on its own), so one typo elsewhere does not
 * hide these problems and the shape here is known.
 */
export function crossChecks(data: unknown): Problem[] {
  const file = data as Partial<ReleasesFile>;
  const problems: Problem[] = [];
  const reg = file.registry;
  if (reg?.type === 'oss' && Value.Check(REGISTRY_BRANCHES.oss, reg) && reg.cname && !reg.endpoint) {
    problems.push({
      path: ['registry', 'endpoint'],
      message: 'is required when cname is true (the custom domain bound to the bucket)',
    });
  }
  if (file.app?.name === 'runtimes') {
    // The registry keeps packed Node runtimes in <prefix>/runtimes/, shared by every app.
    problems.push({ path: ['app', 'name'], message: 'is reserved: the registry keeps Node runtimes there' });
  }
  const runtime = file.app?.runtime;
  if (runtime !== null && typeof runtime === 'object') problems.push(...runtimeChecks(runtime));
  if (reg?.type === 'oss' && Value.Check(REGISTRY_BRANCHES.oss, reg)) {
    for (const key of ['endpoint', 'internalEndpoint'] as const) {
      const url = reg[key];
      if (url !== undefined && isIP(new URL(url).hostname.replace(/^\[|\]$/g, '')) !== 0) {
        problems.push({
          path: ['registry', key],
          message:
            'must name a host, not an IP address: ali-oss cannot presign URLs for an IP endpoint, and hosts download through presigned URLs; use a name that resolves to it (http://localhost:PORT for a local server) with cname: true',
        });
      }
    }
  }
  const port = typeof file.app?.port === 'number' ? file.app.port : 3000;
  const envs = file.environments !== null && typeof file.environments === 'object' ? file.environments : {};
  for (const [name, env] of Object.entries(envs)) {
    if (Value.Check(EnvironmentSchema, env)) problems.push(...environmentChecks(name, env, port));
  }
  problems.push(...hookProblems(file), ...notificationProblems(file));
  return problems;
}

function environmentChecks(name: string, env: EnvironmentFile, defaultPort: number): Problem[] {
  const problems: Problem[] = [];
  const at = (...rest: (string | number)[]) => ['environments', name, ...rest];

  if (typeof env.batch === 'string') {
    const pct = Number(env.batch.slice(0, -1));
    if (pct < 1 || pct > 100) {
      problems.push({
        path: at('batch'),
        message: 'must be a whole number of hosts (1 or more) or a percentage from 1% to 100%',
      });
    }
  }

  const names = new Map<string, number>();
  env.hosts.forEach((host, i) => {
    if (env.transport === 'ssh') {
      if (host.address === undefined)
        problems.push({ path: at('hosts', i, 'address'), message: 'is required' });
      else if (!isHostAddress(host.address)) {
        problems.push({ path: at('hosts', i, 'address'), message: 'must be a host name or IP address' });
      }
    } else if (host.name === undefined) {
      problems.push({
        path: at('hosts', i, 'name'),
        message: 'is required for the local transport (it names the host folder)',
      });
    }
    const label =
      host.name ?? (host.address === undefined ? undefined : `${host.address}:${host.port ?? 22}`);
    if (label !== undefined) {
      const first = names.get(label);
      if (first !== undefined) {
        problems.push({
          path: at('hosts', i, host.name ? 'name' : 'address'),
          message: `duplicates hosts[${first}]; each host must be listed once`,
        });
      } else names.set(label, i);
    }
  });

  if (env.service?.bind !== undefined && isIP(env.service.bind) === 0) {
    problems.push({
      path: at('service', 'bind'),
      message: 'must be an IP address such as 0.0.0.0 or 127.0.0.1',
    });
  }

  if (env.transport === 'ssh') {
    if (env.user === undefined)
      problems.push({ path: at('user'), message: 'is required for the ssh transport' });
    if (!env.path.startsWith('/')) {
      problems.push({ path: at('path'), message: 'must be an absolute path on the hosts (e.g. /srv/ferry)' });
    }
  } else {
    // Local hosts share this machine's network, so two of them on one port would collide.
    const ports = new Map<number, number>();
    env.hosts.forEach((host, i) => {
      const port = host.appPort ?? defaultPort;
      const first = ports.get(port);
      if (first !== undefined) {
        problems.push({
          path: at('hosts', i, 'appPort'),
          message: `must differ from hosts[${first}] (both would listen on port ${port} on this machine)`,
        });
      } else ports.set(port, i);
    });
  }
  return problems;
}

/** Each key on its own (a bad arch must not hide a bad node), so only values of the right type are read. */
function runtimeChecks(runtime: Partial<RuntimeFile>): Problem[] {
  const problems: Problem[] = [];
  const at = (...rest: (string | number)[]) => ['app', 'runtime', ...rest];
  if (typeof runtime.node === 'string' && runtime.node !== '' && parseNodeSpec(runtime.node) === null) {
    problems.push({
      path: at('node'),
      message: 'must be an exact Node version like 22.23.5 or a semver range like ^22 or 22.x',
    });
  }
  const arches = Array.isArray(runtime.arch) ? runtime.arch : ['x64'];
  arches.forEach((arch, i) => {
    const first = arches.indexOf(arch);
    if (first !== i) problems.push({ path: at('arch', i), message: `duplicates arch[${first}]` });
  });
  if (typeof runtime.from === 'string') {
    const valid = Value.Check(RuntimeSchema.properties.arch, runtime.arch) ? arches : ['x64'];
    const bad = runtimeFromProblem(runtime.from, valid);
    if (bad) problems.push({ path: at('from'), message: bad });
  }
  return problems;
}
