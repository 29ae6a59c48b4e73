// Configuration and banner for the standalone runner (scripts/oss-server.ts), kept here so the
// script stays a thin wrapper and this logic is testable.
import { parseArgs } from 'node:util';
import { DEFAULTS, type OssServer } from './index';
import type { OssServerOptions } from './types';

export const RUNNER_USAGE = `Usage: npm run oss-server -- [options]

Options (each also read from the environment variable shown):
  --port NAME=PORT      a named listener, repeatable; default public=0,internal=0 (0 = any free port)
                        OSS_SERVER_PORTS="public=9000,internal=9001"
  --bucket NAME         OSS_SERVER_BUCKET (default ${DEFAULTS.bucket})
  --access-key-id ID    OSS_SERVER_ACCESS_KEY_ID (default ${DEFAULTS.accessKeyId})
  --access-key-secret S OSS_SERVER_ACCESS_KEY_SECRET (default ${DEFAULTS.accessKeySecret})
  --sts-token TOKEN     OSS_SERVER_STS_TOKEN (require this security token)
  --host ADDRESS        OSS_SERVER_HOST (default ${DEFAULTS.host}; keep it on loopback)
  --region REGION       OSS_SERVER_REGION (default ${DEFAULTS.region})
  --quiet               do not print a line per request
  --help`;

export interface RunnerConfig {
  options: OssServerOptions;
  quiet: boolean;
  help: boolean;
}

function parsePorts(specs: string[]): Record<string, number> {
  const ports: Record<string, number> = {};
  for (const spec of specs.flatMap((s) => s.split(',')).filter(Boolean)) {
    const m = /^([A-Za-z][\w-]*)=(\d+)$/.exec(spec.trim());
    const port = Number(m?.[2]);
    if (!m?.[1] || port > 65535) throw new Error(`--port wants NAME=PORT (e.g. public=9000), got "${spec}"`);
    ports[m[1]] = port;
  }
  return ports;
}

export function parseRunnerArgs(argv: string[], env: NodeJS.ProcessEnv): RunnerConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', multiple: true },
      bucket: { type: 'string' },
      'access-key-id': { type: 'string' },
      'access-key-secret': { type: 'string' },
      'sts-token': { type: 'string' },
      host: { type: 'string' },
      region: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const portSpecs = values.port ?? (env.OSS_SERVER_PORTS ? [env.OSS_SERVER_PORTS] : []);
  const ports = portSpecs.length > 0 ? parsePorts(portSpecs) : { public: 0, internal: 0 };
  const options: OssServerOptions = {
    ports,
    bucket: values.bucket ?? env.OSS_SERVER_BUCKET ?? DEFAULTS.bucket,
    accessKeyId: values['access-key-id'] ?? env.OSS_SERVER_ACCESS_KEY_ID ?? DEFAULTS.accessKeyId,
    accessKeySecret:
      values['access-key-secret'] ?? env.OSS_SERVER_ACCESS_KEY_SECRET ?? DEFAULTS.accessKeySecret,
    host: values.host ?? env.OSS_SERVER_HOST ?? DEFAULTS.host,
    region: values.region ?? env.OSS_SERVER_REGION ?? DEFAULTS.region,
  };
  const sts = values['sts-token'] ?? env.OSS_SERVER_STS_TOKEN;
  if (sts) options.stsToken = sts;
  return { options, quiet: values.quiet ?? false, help: values.help ?? false };
}

/**
 * What the runner prints: endpoints and an ali-oss snippet. Only the built-in fake secret and
 * token are shown; anything else is referenced through its environment variable, never echoed.
 */
export function banner(server: OssServer): string {
  const opts = server.clientOptions();
  const secret =
    opts.accessKeySecret === DEFAULTS.accessKeySecret
      ? `'${opts.accessKeySecret}'`
      : 'process.env.OSS_SERVER_ACCESS_KEY_SECRET';
  const lines = [
    `OSS test server: bucket "${server.bucket}"`,
    ...Object.entries(server.endpoints).map(([name, url]) => `  ${name.padEnd(10)} ${url}`),
    '',
    'ali-oss client options:',
    '  {',
    `    endpoint: '${opts.endpoint}',`,
    '    cname: true,',
    `    bucket: '${opts.bucket}',`,
    `    accessKeyId: '${opts.accessKeyId}',`,
    `    accessKeySecret: ${secret},`,
    ...(opts.stsToken ? ['    stsToken: process.env.OSS_SERVER_STS_TOKEN,'] : []),
    '  }',
    '',
    'Ctrl-C stops it.',
  ];
  return lines.join('\n');
}
