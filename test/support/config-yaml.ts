// releases.yaml fragments for the test servers: the OSS-protocol server as the registry, and the SSH
// fleet or systemd test hosts as an environment's hosts. Tests, the pull suite and the benchmarks write
// configs from these, so a schema change is made once.
import type { OssServer } from './oss-server';
import type { Fleet } from './ssh-fleet';
import type { SystemdHostTarget } from './systemd-host';

/** A top-level `registry:` block pointing at the server's public and internal ports. */
export function ossRegistryYaml(oss: OssServer, opts: { prefix?: string } = {}): string {
  return `registry:
  type: oss
  bucket: ${oss.bucket}
  region: oss-cn-shenzhen
${opts.prefix === undefined ? '' : `  prefix: ${opts.prefix}\n`}  endpoint: ${oss.endpoints.public}
  internalEndpoint: ${oss.endpoints.internal}
  cname: true
`;
}

interface YamlHost {
  name: string;
  address: string;
  port: number;
  hostKeyFingerprint: string;
  root: string;
}

function hostsYaml(hosts: readonly YamlHost[], appPorts: readonly number[]): string {
  const entries = hosts.map(
    (h, i) => `      - name: ${h.name}
        address: ${h.address}
        port: ${h.port}
        hostKey: ${h.hostKeyFingerprint}
        path: ${h.root}
        appPort: ${appPorts[i]}`,
  );
  return `    hosts:\n${entries.join('\n')}\n`;
}

/** The `hosts:` list of an environment (indented for `environments.<name>.hosts`), host keys pinned. */
export function fleetHostsYaml(fleet: Fleet, appPorts: readonly number[]): string {
  return hostsYaml(fleet.hosts, appPorts);
}

/** The same for systemd test hosts; the environment's `user:` is their deploy user. */
export function systemdHostsYaml(hosts: readonly SystemdHostTarget[], appPorts: readonly number[]): string {
  return hostsYaml(hosts, appPorts);
}

/**
 * An `app.runtime` block (indented for `app:`), e.g. runtimeYaml('24.22.3', await runtimeFolder()) or
 * runtimeYaml('^22', mirror.template()) with test/support/node-runtimes.ts and node-mirror.ts.
 */
export function runtimeYaml(node: string, from: string, arch: readonly string[] = ['x64']): string {
  return `  runtime:
    node: ${JSON.stringify(node)}
    arch: [${arch.join(', ')}]
    from: ${JSON.stringify(from)}
`;
}

/**
 * A whole releases.yaml for one app on one systemd test host, environment `e2e` in systemd mode with 2
 * workers: what the real-systemd suites deploy. `extra` goes into the environment before its hosts
 * (e.g. a `pull:` block).
 */
export function systemdAppConfigYaml(o: {
  app: string;
  entry: string;
  node: string;
  from: string;
  oss: OssServer;
  publicKey: string;
  host: SystemdHostTarget;
  unitName: string;
  appPort: number;
  extra?: string;
}): string {
  return `app:
  name: ${o.app}
  entry: ${o.entry}
${runtimeYaml(o.node, o.from)}${ossRegistryYaml(o.oss)}signing:
  publicKey: ${o.publicKey}
environments:
  e2e:
    transport: ssh
    user: ${o.host.user}
    path: ${o.host.root}
    health:
      timeoutSeconds: 20
    service:
      mode: systemd
      workers: 2
      unitName: ${o.unitName}
      bind: 127.0.0.1
${o.extra ?? ''}${systemdHostsYaml([o.host], [o.appPort])}`;
}
