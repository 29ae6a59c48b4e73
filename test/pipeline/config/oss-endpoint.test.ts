// registry.endpoint / internalEndpoint given as an IP address. ali-oss cannot presign a URL for an IP
// endpoint ("can not get the object URL when endpoint is IP"), and every deploy hands hosts presigned
// URLs, so such a config could publish but never deploy. It is refused on load, naming the key.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../pipeline/config/load';
import { ConfigError } from '../../../pipeline/errors';
import { ExitCode } from '../../../pipeline/exit-codes';
import { ferry } from '../cli/run';

const MESSAGE =
  'must name a host, not an IP address: ali-oss cannot presign URLs for an IP endpoint, and hosts download through presigned URLs; use a name that resolves to it (http://localhost:PORT for a local server) with cname: true';

const config = (registry: Record<string, unknown>) =>
  stringify({
    app: { name: 'shop', entry: 'app/server.ts' },
    registry: { type: 'oss', bucket: 'mvp-backend-files', region: 'oss-cn-shenzhen', ...registry },
    environments: { local: { transport: 'local', path: '/tmp/x', hosts: [{ name: 'a' }] } },
  });

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, '/project/releases.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  return [];
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-oss-endpoint-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('an OSS registry endpoint given as an IP address', () => {
  it('is refused for endpoint and internalEndpoint, IPv4 and IPv6, naming the key', () => {
    expect(
      problemsOf(
        config({ endpoint: 'http://127.0.0.1:9000', internalEndpoint: 'http://[::1]:9001', cname: true }),
      ),
    ).toEqual([`registry.endpoint: ${MESSAGE} (line 8)`, `registry.internalEndpoint: ${MESSAGE} (line 9)`]);
  });

  it('host names are accepted, the default endpoints too', () => {
    expect(
      problemsOf(
        config({ endpoint: 'http://localhost:9000', internalEndpoint: 'http://localhost:9001', cname: true }),
      ),
    ).toEqual([]);
    expect(problemsOf(config({}))).toEqual([]);
  });

  it('`ferry releases` exits 3 with the key and what to set', async () => {
    const file = join(dir, 'releases.yaml');
    await writeFile(file, config({ endpoint: 'http://127.0.0.1:9000', cname: true }));
    const r = await ferry(['releases', '-c', file]);
    expect(r.code).toBe(ExitCode.Config);
    expect(r.stderr).toContain(`  registry.endpoint: ${MESSAGE} (line 8)\n`);
  });
});
