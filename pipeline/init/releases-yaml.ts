// The text of the releases.yaml `ferry init` writes: a local registry and two local hosts, so publish,
// setup and deploy work on the machine at once, plus a commented OSS + ECS block that is what a real setup
// uncomments. Pure: the answers in, the file out (unit-tested, and parsed with the real loader).
import type { EntrySource } from './detect';

export interface ReleasesYamlInput {
  name: string;
  entry: string;
  entrySource: EntrySource | 'flag' | 'answer';
  port: number;
  /** Whether the entry reads process.env.PORT (null: could not tell). */
  readsPort: boolean | null;
  nodeMajor: number;
  arch: 'x64' | 'arm64';
  publicKey: string;
  healthPath: string;
  /** Two free ports on this machine for the local hosts. */
  localPorts: [number, number];
  /** Where the schema is, relative to the file (the installed package's copy). */
  schemaPath: string;
}

const ENTRY_FROM: Record<ReleasesYamlInput['entrySource'], string> = {
  main: 'package.json "main"',
  bin: 'package.json "bin"',
  'scripts.start': 'package.json "scripts.start"',
  file: 'found in the project',
  flag: 'given with --entry',
  answer: 'as answered',
};

/** Marks the commented block a real setup uncomments (tests find it by these lines). */
export const OSS_BLOCK_START =
  '# --- Alibaba Cloud: OSS registry (replace the local registry above with this) ---';
export const SSH_BLOCK_START =
  '  # --- Alibaba Cloud: ECS hosts over SSH (uncomment, then `ferry setup production`) ---';

/** A key and its comment, the comments lined up in one column as in the repository's own file. */
const c = (code: string, comment: string) => `${code.padEnd(28)} # ${comment}`;

export function releasesYaml(o: ReleasesYamlInput): string {
  const portNote =
    o.readsPort === false
      ? 'WARNING: the entry does not seem to read process.env.PORT; it must listen there'
      : 'the app listens on process.env.PORT (Ferry sets it on every host)';
  const [p1, p2] = o.localPorts;
  return `# yaml-language-server: $schema=${o.schemaPath}
#
# Ferry's config for ${o.name}, written by \`ferry init\`. As it is, it works on this machine with no cloud
# account: a local folder is the registry and two "hosts" are folders under .ferry/hosts.
#   npx ferry publish && npx ferry setup local && npx ferry deploy local
# The commented blocks below are a real Alibaba Cloud setup (OSS + ECS). Every key: docs/releases.md.
# Relative paths are relative to this file. Never put secrets here: it is committed.
#   OSS credentials:  OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET (+ OSS_SECURITY_TOKEN for STS)
#   signing key:      FERRY_SIGNING_KEY (PEM) or FERRY_SIGNING_KEY_FILE; on this machine .ferry/signing-key.pem
#   app secrets:      the host's <path>/shared/.env

app:
  name: ${o.name}
${c(`  entry: ${o.entry}`, `what ncc bundles (${ENTRY_FROM[o.entrySource]})`)}
${c(`  port: ${o.port}`, portNote)}
${c(`  node: ">=${o.nodeMajor}"`, 'Node range the bundle needs')}
  runtime:                   # the Node every release ships with: hosts need no Node of their own
${c(`    node: "^${o.nodeMajor}"`, 'resolved at publish and pinned in the signed manifest')}
${c(`    arch: [${o.arch}]`, 'x64 and/or arm64 (ECS Yitian instances)')}
    from: self               # the Node running ferry (works offline). Real setups: npm, or a mirror:
                             # https://npmmirror.com/mirrors/node/v{version}/node-v{version}-linux-{arch}.tar.xz
  env:                       # non-secret settings only
    NODE_ENV: production

registry:
  type: local
  path: .ferry/registry

${OSS_BLOCK_START}
# registry:
#   type: oss
#   bucket: my-bucket
#   region: oss-cn-hangzhou
#   prefix: ferry/releases
#   endpoint: https://oss-cn-hangzhou.aliyuncs.com                   # CI uploads through the public endpoint
#   internalEndpoint: https://oss-cn-hangzhou-internal.aliyuncs.com  # hosts download through the internal one

signing:
  # Hosts trust only releases signed by this key. Its private half is .ferry/signing-key.pem (git-ignored);
  # in CI, store that file's contents as the secret FERRY_SIGNING_KEY.
  publicKey: ${o.publicKey}

environments:
  local:
    transport: local         # each host is a folder: <path>/<host name>
    path: .ferry/hosts
    hosts:
      - name: host-1
${c(`        appPort: ${p1}`, 'local hosts share this machine, so each needs its own port')}
      - name: host-2
        appPort: ${p2}
    health:
      path: ${o.healthPath}
      versionPath: false     # no {"version": ...} endpoint: a 2xx on path, on each new worker, is the gate
      timeoutSeconds: 30
    service:
      mode: process          # ssh environments default to systemd
${SSH_BLOCK_START}
  # production:
  #   transport: ssh
  #   user: deploy
  #   path: /srv/${o.name}
  #   hosts:
  #     - { name: web-1, address: 172.16.0.11 }
  #     - { name: web-2, address: 172.16.0.12 }
  #   batch: "50%"           # canary first, then half of the rest at a time
  #   health: { path: ${o.healthPath}, versionPath: false, timeoutSeconds: 90 }
  #   service: { mode: systemd, workers: 2 }
`;
}
