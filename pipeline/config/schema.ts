// The shape of releases.yaml, written once: it gives the TypeScript type of the file, the validator that
// runs on load, and releases.schema.json (scripts/gen-schema.ts) that editors use for completion.
// Defaults are declared here for the editor's benefit; resolve.ts applies them (typebox does not fill
// defaults inside records). `errorMessage` is our own annotation: the text shown when a value fails.
import { type Static, Type } from 'typebox';
import { HooksSchema } from './schema-hooks';
import { NotificationsSchema } from './schema-notifications';

const NAME = '^[a-z][a-z0-9-]{0,62}$';
const URL_PATTERN = '^https?://[^\\s/]+/?$';

const Host = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$',
        description: 'Short label for logs and status; required and unique for the local transport.',
        errorMessage: 'must be letters, digits, dots, dashes or underscores (max 63)',
      }),
    ),
    address: Type.Optional(
      Type.String({
        description: 'Host name or IP address to reach over SSH. Unused by the local transport.',
        errorMessage: 'must be a host name or IP address',
      }),
    ),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 22, description: 'SSH port.' })),
    appPort: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        description: 'Port the app listens on for this host; defaults to app.port.',
      }),
    ),
    path: Type.Optional(
      Type.String({
        pattern: '^/',
        description: "This host's deploy root when it differs from the environment's path (ssh only).",
        errorMessage: 'must be an absolute path',
      }),
    ),
    hostKey: Type.Optional(
      Type.String({
        pattern: '^(SHA256:)?[A-Za-z0-9+/]{43}=?$',
        description:
          'Pinned SSH host key fingerprint (ssh-keyscan HOST | ssh-keygen -lf -). Without it the known_hosts file is used.',
        errorMessage:
          'must be an OpenSSH SHA256 fingerprint, e.g. SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s',
      }),
    ),
  },
  { additionalProperties: false },
);

const Health = Type.Object(
  {
    path: Type.Optional(
      Type.String({ pattern: '^/', default: '/healthz', errorMessage: 'must be a URL path starting with /' }),
    ),
    versionPath: Type.Optional(
      Type.Union([Type.String({ pattern: '^/' }), Type.Literal(false)], {
        default: '/version',
        description:
          'Path answering {"version": "<release version>"}, checked on every new worker; false for an app without one (then a 2xx on path is the whole gate).',
        errorMessage: 'must be a URL path starting with / or false (no version endpoint)',
      }),
    ),
    timeoutSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 3600,
        default: 60,
        description: 'How long a new release may take to become healthy.',
      }),
    ),
    intervalMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60000, default: 500 })),
  },
  { additionalProperties: false },
);

const Service = Type.Object(
  {
    mode: Type.Optional(
      Type.Union([Type.Literal('systemd'), Type.Literal('process')], {
        description: 'systemd unit (default for ssh) or a supervised process (default for local).',
      }),
    ),
    workers: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, default: 1 })),
    bind: Type.Optional(
      Type.String({
        description: 'Address the app listens on: default 0.0.0.0 for ssh hosts, 127.0.0.1 for local ones.',
        errorMessage: 'must be an IP address such as 0.0.0.0 or 127.0.0.1',
      }),
    ),
    standbySeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 7 * 86400,
        default: 900,
        description:
          'How long the generation a deploy replaced stays up out of rotation, so a rollback to it starts no app (0: retire it at once; costs its memory meanwhile).',
      }),
    ),
    unitName: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9@._-]{0,127}$',
        description: 'systemd unit name; defaults to app.name.',
        errorMessage: 'must be a systemd unit name (letters, digits, @ . _ -)',
      }),
    ),
    logFileMiB: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1024,
        default: 10,
        description:
          'Process mode: .ferry/logs/service.log is rotated when it reaches this size (systemd mode logs to journald, which bounds itself).',
      }),
    ),
    logFiles: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        default: 5,
        description: 'Process mode: rotated service.log files kept besides the current one.',
      }),
    ),
  },
  { additionalProperties: false },
);

const Pull = Type.Object(
  {
    intervalSeconds: Type.Optional(
      Type.Integer({
        minimum: 10,
        maximum: 86400,
        default: 120,
        description: 'How often each host runs `agent sync` (the systemd timer, OnUnitActiveSec=).',
      }),
    ),
    jitterSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 86400,
        default: 60,
        description: 'Random delay added to each run (RandomizedDelaySec=), so hosts do not pull at once.',
      }),
    ),
    channelTtlSeconds: Type.Optional(
      Type.Integer({
        minimum: 300,
        maximum: 90 * 86400,
        default: 7 * 86400,
        description:
          'Lifetime of a channel `ferry promote` issues; hosts refuse an expired one, so re-issue it more often.',
      }),
    ),
    ramRole: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9._-]{1,64}$',
        description: "The ECS instances' RAM role: hosts read the registry with its STS credentials.",
        errorMessage: 'must be a RAM role name (letters, digits, . _ -)',
      }),
    ),
    metadataEndpoint: Type.Optional(
      Type.String({
        pattern: URL_PATTERN,
        default: 'http://100.100.100.200',
        description: 'The ECS instance metadata service (only tests move it).',
        errorMessage: 'must be an http(s) URL with no path',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Pull mode: hosts converge to the signed channel `ferry promote` moves (docs/pull.md); deploy and rollback move it too.',
  },
);

const Environment = Type.Object(
  {
    transport: Type.Union([Type.Literal('ssh'), Type.Literal('local')], {
      description: 'ssh: real hosts. local: each host is a folder on this machine (path/<host name>).',
    }),
    hosts: Type.Array(Host, { minItems: 1, errorMessage: 'must list at least one host' }),
    user: Type.Optional(Type.String({ pattern: '^[a-z_][a-z0-9_-]{0,31}$', description: 'SSH user.' })),
    knownHostsFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'known_hosts file for hosts without a pinned hostKey (default ~/.ssh/known_hosts).',
      }),
    ),
    path: Type.String({
      minLength: 1,
      description: 'Deploy root on each host (ssh: absolute; local: relative to this file).',
    }),
    keep: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 5, description: 'Releases to keep per host.' }),
    ),
    batch: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[0-9]{1,3}%$' })], {
        default: 1,
        description: 'Hosts switched at once after the canary: a count or a percentage like "25%".',
        errorMessage: 'must be a whole number of hosts (1 or more) or a percentage from 1% to 100%',
      }),
    ),
    concurrency: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Cap on parallel SSH sessions.' }),
    ),
    health: Type.Optional(Health),
    bakeSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 86400,
        default: 0,
        description:
          'After a batch passes its gate, watch it this long (worker crashes, health) before the next batch; a failure then reverts like a failed gate.',
      }),
    ),
    service: Type.Optional(Service),
    lockTtlSeconds: Type.Optional(
      Type.Integer({
        minimum: 30,
        maximum: 86400,
        default: 900,
        description: 'A deploy lock older than this is considered abandoned.',
      }),
    ),
    pull: Type.Optional(Pull),
    urlTtlSeconds: Type.Optional(
      Type.Integer({
        minimum: 2,
        maximum: 604800,
        description:
          'How long the presigned release URLs handed to hosts stay valid; fresh ones are signed for each batch. Default: 900, or 3 × health.timeoutSeconds if longer.',
      }),
    ),
  },
  { additionalProperties: false },
);

const LocalRegistry = Type.Object(
  {
    type: Type.Literal('local'),
    path: Type.Optional(
      Type.String({
        minLength: 1,
        default: '.ferry/registry',
        description: 'Folder, relative to this file.',
      }),
    ),
    prefix: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._/-]*$', default: 'releases' })),
  },
  { additionalProperties: false },
);

const OssRegistry = Type.Object(
  {
    type: Type.Literal('oss'),
    bucket: Type.String({
      pattern: '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$',
      errorMessage: 'must be an OSS bucket name (3-63 lowercase letters, digits and dashes)',
    }),
    region: Type.String({
      pattern: '^oss-[a-z0-9-]+$',
      description: 'e.g. oss-cn-shenzhen',
      errorMessage: 'must be an OSS region id such as oss-cn-shenzhen',
    }),
    prefix: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._/-]*$', default: 'releases' })),
    endpoint: Type.Optional(
      Type.String({
        pattern: URL_PATTERN,
        description: 'Endpoint CI uploads through; defaults to https://<region>.aliyuncs.com.',
        errorMessage: 'must be an http(s) URL with no path, e.g. https://oss-cn-shenzhen.aliyuncs.com',
      }),
    ),
    internalEndpoint: Type.Optional(
      Type.String({
        pattern: URL_PATTERN,
        description: 'Endpoint hosts download through; defaults to https://<region>-internal.aliyuncs.com.',
        errorMessage:
          'must be an http(s) URL with no path, e.g. https://oss-cn-shenzhen-internal.aliyuncs.com',
      }),
    ),
    cname: Type.Optional(
      Type.Boolean({
        description: 'The endpoints are custom domains bound to the bucket (or a test server).',
      }),
    ),
  },
  { additionalProperties: false },
);

const Runtime = Type.Object(
  {
    node: Type.String({
      minLength: 1,
      description:
        'Node version the release runs on: exact ("22.23.5") or a range ("^22", "22.x") resolved at publish time and recorded.',
      errorMessage: 'must be an exact Node version like 22.23.5 or a range like ^22',
    }),
    arch: Type.Optional(
      Type.Array(
        Type.Union([Type.Literal('x64'), Type.Literal('arm64')], { errorMessage: 'must be x64 or arm64' }),
        {
          minItems: 1,
          default: ['x64'],
          description: 'CPU architectures to ship (ECS arm64 instances are Yitian).',
          errorMessage: 'must list at least one of x64, arm64',
        },
      ),
    ),
    from: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Where the official binaries come from: npm, npm:<registry URL>, an http(s) URL template with {version} and {arch}, a folder of node-v*-linux-*.tar.gz/.tar.xz, or self (the Node running ferry). Default: npm, else self when the registry cannot be reached.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The Node runtime shipped with every release (bin/node + licence), so hosts need no Node of their own.',
  },
);

export const ReleasesSchema = Type.Object(
  {
    app: Type.Object(
      {
        name: Type.String({
          pattern: NAME,
          description: 'Names the artifact, the registry folder and the service.',
          errorMessage: 'must be lowercase letters, digits and dashes, starting with a letter (max 63)',
        }),
        entry: Type.String({ minLength: 1, description: 'The file ncc bundles, relative to this file.' }),
        port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 3000 })),
        node: Type.Optional(
          Type.String({ minLength: 1, default: '>=20', description: 'Node range the bundle needs.' }),
        ),
        runtime: Type.Optional(Runtime),
        env: Type.Optional(
          Type.Record(
            Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
            Type.String({ errorMessage: 'must be a string (quote numbers and booleans)' }),
            {
              additionalProperties: false,
              description: "Non-secret environment for the app. Secrets go in the host's shared/.env.",
              errorMessage: 'is not a valid environment variable name',
            },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    registry: Type.Union([LocalRegistry, OssRegistry], {
      description: 'Where releases are stored: a local folder or an OSS bucket.',
    }),
    signing: Type.Optional(
      Type.Object(
        {
          publicKey: Type.Optional(
            Type.String({
              pattern: '^ed25519:[A-Za-z0-9_-]{43}$',
              description: 'The line `ferry keygen` prints. FERRY_SIGNING_PUBLIC_KEY overrides it.',
              errorMessage: 'must be the ed25519:<43 characters> line printed by `ferry keygen`',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    environments: Type.Optional(
      Type.Record(Type.String({ pattern: NAME }), Environment, {
        additionalProperties: false,
        errorMessage: 'is not a valid environment name (lowercase letters, digits and dashes)',
      }),
    ),
    hooks: Type.Optional(HooksSchema),
    notifications: Type.Optional(NotificationsSchema),
  },
  { additionalProperties: false },
);

/** releases.yaml as written (optional keys may be absent). See resolve.ts for the resolved form. */
export type ReleasesFile = Static<typeof ReleasesSchema>;
export type EnvironmentFile = Static<typeof Environment>;
export type HostFile = Static<typeof Host>;
export type RuntimeFile = Static<typeof Runtime>;
export const RuntimeSchema = Runtime;
export type RegistryFile = Static<typeof LocalRegistry> | Static<typeof OssRegistry>;

export const EnvironmentSchema = Environment;
export const REGISTRY_BRANCHES = { local: LocalRegistry, oss: OssRegistry } as const;
