// The first deploy to a bare host (no Node: `ferry setup` bootstraps the runtime, then the release) against
// a later deploy (the release only, the runtime already there): time, and the bytes the host downloads
// from the registry's internal endpoint. The storage service as it ships, on Node 24 shipped with it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSigningKeyPair } from '../../pipeline/release/signing';
import { runtimeYaml } from '../../test/support/config-yaml';
import {
  NODE_24,
  requireTestRuntimes,
  runtimeFolder,
  TEST_FERRY_CACHE_DIR,
} from '../../test/support/node-runtimes';
import { ferryCli } from '../lib/ferry-cli';
import { formatMB, formatSeconds } from '../lib/format';
import { freePort } from '../lib/net';
import { ossEnv, ossRegistryYaml, startRegistry } from '../lib/oss';
import type { BenchContext, Part, PartResult } from '../lib/part';
import { packRelease, writeArtifact } from '../lib/releases';
import { REPO, serviceBundle } from '../lib/servers';

const APP = 'ferry-storage';

export const part: Part = {
  name: 'bare-host',
  title: 'First deploy to a bare host (runtime + release) vs a later deploy (release only)',
  async run(ctx: BenchContext): Promise<PartResult> {
    const runtimes = requireTestRuntimes([{ version: NODE_24, arch: 'x64' }]);
    if (!runtimes.available)
      return { tables: [], data: null, skipped: runtimes.reason ?? 'no Node 24 build' };
    const oss = await startRegistry();
    ctx.defer(() => oss.close());
    const bundle = await serviceBundle(ctx);
    const keys = generateSigningKeyPair();
    const port = await freePort();
    const hosts = join(ctx.tmp, 'hosts');
    const configFile = join(ctx.tmp, 'releases.yaml');
    await writeFile(
      configFile,
      `app:
  name: ${APP}
  entry: ${join(REPO, 'app', 'server.ts')}
${runtimeYaml(NODE_24, await runtimeFolder([{ version: NODE_24, arch: 'x64' }]))}${ossRegistryYaml(oss)}signing:
  publicKey: ${keys.publicKey}
environments:
  bench:
    transport: local
    path: ${hosts}
    service:
      workers: 1
    hosts:
      - { name: h1, appPort: ${port} }
`,
    );
    const secrets = join(ctx.tmp, 'secrets.env');
    await writeFile(secrets, `AUTH_SECRET=${'c'.repeat(48)}\n`, { mode: 0o600 });
    const ferry = ferryCli(configFile, ctx.tmp, {
      PATH: process.env.PATH,
      HOME: ctx.tmp,
      FERRY_WHO: 'bench@localhost',
      FERRY_CACHE_DIR: TEST_FERRY_CACHE_DIR,
      FERRY_SIGNING_KEY: keys.privateKeyPem,
      ...ossEnv(oss),
    });
    ctx.defer(async () => {
      try {
        process.kill(
          Number((await readFile(join(hosts, 'h1', '.ferry', 'supervisor.pid'), 'utf8')).trim()),
          'SIGTERM',
        );
      } catch {
        // not running
      }
    });
    for (const v of ['1.0.0', '1.1.0']) {
      await ferry.ok(
        'publish',
        '--artifact',
        await writeArtifact(ctx.tmp, packRelease(APP, v, bundle.files)),
      );
    }
    const internalBytes = () => oss.stats().internal?.bytesOut ?? 0;

    oss.resetStats();
    const setup = await ferry.ok('setup', 'bench', '--env-file', secrets);
    const first = await ferry.ok('deploy', 'bench', '--version', '1.0.0');
    const firstBytes = internalBytes();
    oss.resetStats();
    const later = await ferry.ok('deploy', 'bench', '--version', '1.1.0');
    const laterBytes = internalBytes();
    ctx.log(
      `bare host: ${formatSeconds(setup.ms + first.ms)}, ${formatMB(firstBytes)}; later: ${formatSeconds(later.ms)}, ${formatMB(laterBytes)}`,
    );
    return {
      tables: [
        {
          title: 'A bare host (no Node) to serving, then the next release',
          columns: [
            { header: 'step' },
            { header: 'time', right: true },
            { header: 'downloaded', right: true },
          ],
          rows: [
            [
              'setup (runtime bootstrap) + first deploy',
              formatSeconds(setup.ms + first.ms),
              formatMB(firstBytes),
            ],
            ['  of which setup', formatSeconds(setup.ms), ''],
            ['a later deploy (release only)', formatSeconds(later.ms), formatMB(laterBytes)],
          ],
          notes: [
            `The storage service's release on Node ${NODE_24} (x64), shipped with it; one local host (its agent a local process), the OSS test server as the registry. "downloaded": response bytes the host fetched from the registry's internal port (runtime, manifests, signatures, artifacts). A later release on the same Node downloads no runtime.`,
          ],
        },
      ],
      data: { setupMs: setup.ms, firstDeployMs: first.ms, firstBytes, laterDeployMs: later.ms, laterBytes },
    };
  },
};
