// What a deploy ships: Ferry's release artifact next to the Docker images that would otherwise carry
// the service, and the node_modules such an image adds (estimated from what is installed here).
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { brotliDecompressSync, gzipSync } from 'node:zlib';
import { $ } from 'zx';
import { brotliDeterministic, createTar } from '../../pipeline/build/tar';
import { measureCompression } from '../lib/compression';
import { dependencyClosure, packageFiles } from '../lib/deps';
import { formatBytes, formatMB, formatMs, ratio } from '../lib/format';
import type { BenchContext, Part, PartResult } from '../lib/part';
import { packRelease } from '../lib/releases';
import { REPO, serviceBundle } from '../lib/servers';

/**
 * Compressed sizes as Docker Hub lists them for linux/amd64 (hub.docker.com/_/node, the tag's
 * "Compressed size"); they move a little with every patch release. Not fetched: the bench is offline.
 */
export const DOCKER_IMAGES = [
  { image: 'node:20-alpine', compressedBytes: 45e6 },
  { image: 'node:22-slim', compressedBytes: 76e6 },
];
export const DOCKER_SOURCE = 'Docker Hub, hub.docker.com/_/node, compressed size of the linux/amd64 image';

/** The packages app/ imports at runtime (grep "from '" app/): what a service image must install. */
export const SERVICE_IMPORTS = [
  'fastify',
  '@fastify/multipart',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  '@fastify/type-provider-typebox',
  'typebox',
  'jose',
  'ali-oss',
  'prom-client',
];

interface Sized {
  packages: number;
  bytes: number;
  gzBytes: number;
}

export const part: Part = {
  name: 'artifact',
  title: 'Artifact size vs Docker images',
  async run(ctx: BenchContext): Promise<PartResult> {
    const bundle = await serviceBundle(ctx);
    const rel = packRelease('ferry-storage', '1.0.0', bundle.files);
    const unpacked = bundle.files.reduce((n, f) => n + f.bytes.length, 0);
    const map = bundle.files.find((f) => f.path === 'index.js.map');
    const mapBytes = map?.bytes.length ?? 0;
    const mapGz = map ? gzipSync(map.bytes, { level: 9 }).length : 0;
    const shipped = unpacked - mapBytes;

    ctx.log("sizing the service's production dependency closure in node_modules");
    const service = await sizeOf(ctx, 'service', dependencyClosure(SERVICE_IMPORTS, REPO));
    ctx.log('sizing everything npm ci --omit=dev would install for package.json');
    const ls = await $({ cwd: REPO, quiet: true, nothrow: true })`npm ls --omit=dev --all --parseable`;
    const prodDirs = ls.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith(join(REPO, 'node_modules')));
    const allProd = await sizeOf(ctx, 'all-prod', [...new Set(prodDirs)]);

    const art = rel.bytes.length;
    const parts = artifactParts(bundle.files);
    ctx.log('compressing the release tar each way (gzip, brotli at several qualities)');
    const tar = createTar(
      bundle.files.filter((f) => f !== map).map((f) => ({ path: `app/${f.path}`, bytes: f.bytes })),
      0,
    );
    const compression = measureCompression(tar, ctx.quick ? 3 : 7, ctx.quick);
    const gz9 = compression.find((c) => c.name.startsWith('gzip -9'));
    // The same artifact as ferry build packed it before brotli (the tar is the same), for comparison.
    const artGz = gzipSync(brotliDecompressSync(rel.bytes), { level: 9 }).length;
    const rows = [
      [
        'Ferry release artifact (.tar.br: ncc bundle + assets + manifest)',
        formatMB(art),
        formatBytes(shipped),
        '1.0×',
        'what a deploy downloads; Node is installed on the host once',
      ],
      ...DOCKER_IMAGES.map((d) => [
        `${d.image} base image`,
        formatMB(d.compressedBytes),
        '–',
        ratio(d.compressedBytes, art),
        'the runtime alone, before any app layer',
      ]),
      [
        `service node_modules (${service.packages} packages: closure of ${SERVICE_IMPORTS.length} imports)`,
        formatMB(service.gzBytes),
        formatBytes(service.bytes),
        ratio(service.gzBytes, art),
        'the layer a Docker image of the service adds',
      ],
      [
        `npm ci --omit=dev for this package.json (${allProd.packages} packages)`,
        formatMB(allProd.gzBytes),
        formatBytes(allProd.bytes),
        ratio(allProd.gzBytes, art),
        "includes the CLI's own deps (ncc, zx, node-ssh, tsx…)",
      ],
      ...DOCKER_IMAGES.map((d) => [
        `${d.image} + service node_modules + app`,
        formatMB(d.compressedBytes + service.gzBytes + art),
        '–',
        ratio(d.compressedBytes + service.gzBytes + art, art),
        'a first pull on a fresh host',
      ]),
    ];
    return {
      tables: [
        {
          title: "The artifact's parts, each packed alone, and the source map beside it",
          columns: [
            { header: 'part' },
            { header: 'files', right: true },
            { header: 'on disk', right: true },
            { header: 'gzip -9', right: true },
            { header: 'brotli q9', right: true },
          ],
          rows: [
            ...parts.map((p) => [
              p.part,
              String(p.files),
              formatBytes(p.bytes),
              formatMB(p.gzBytes),
              formatMB(p.brBytes),
            ]),
            [
              'whole artifact (.tar.br as ferry build writes it)',
              '',
              formatBytes(shipped),
              formatMB(artGz),
              formatMB(art),
            ],
            [
              'source map (its own object, gzipped, not downloaded by hosts)',
              '1',
              formatBytes(mapBytes),
              formatMB(mapGz),
              '–',
            ],
          ],
          notes: [
            'Parts packed separately sum to a little more than the whole: one stream shares its window.',
          ],
        },
        {
          title: 'The release tar under each compression: size against unpack cost',
          columns: [
            { header: 'compression' },
            { header: 'size', right: true },
            { header: 'vs gzip -9', right: true },
            { header: 'compress (publish)', right: true },
            { header: 'decompress (each host)', right: true },
          ],
          rows: compression.map((c) => [
            c.name,
            formatMB(c.bytes),
            ratio(c.bytes, gz9?.bytes ?? c.bytes, 2),
            formatMs(c.compressMs),
            formatMs(c.decompressMs),
          ]),
          notes: [
            `The same tar (the artifact's files, ${formatBytes(tar.length)}), in memory; compress = one run, decompress = median of ${ctx.quick ? 3 : 7}. Unpacking also writes and hashes every file, the same for every compression.${ctx.quick ? ' --quick skips q10 and q11 (seconds each).' : ''}`,
            'Brotli rows are packed by the function ferry build uses (every parameter pinned); hosts unpack .tar.br, and .tar.gz for releases published before. Why q9: docs/performance.md.',
          ],
        },
        {
          title: 'What a deploy ships: the release artifact vs a Docker image of the same service',
          columns: [
            { header: 'what' },
            { header: 'compressed', right: true },
            { header: 'on disk', right: true },
            { header: 'vs artifact', right: true },
            { header: 'note' },
          ],
          rows,
          notes: [
            `Docker image sizes: ${DOCKER_SOURCE}; constants in bench/parts/artifact.ts, not fetched (offline).`,
            'node_modules: every file of the installed packages (Node resolution from the imports, nested copies counted once), "on disk" = sum of file sizes, "compressed" = tar + gzip of exactly those files (as a Docker layer is). A real `npm ci --omit=dev` cannot run offline; this measures what is installed here.',
            `The source map (${formatBytes(mapBytes)}, ${formatMB(mapGz)} gzipped) is not in the artifact: it is its own registry object, which hosts never download (ferry trace uses it).`,
            'Later pulls of an image only fetch changed layers (the app layer, node_modules when the lockfile changed); every Ferry deploy fetches the whole artifact, which is the smaller of the two either way here.',
          ],
        },
      ],
      data: {
        artifactBytes: art,
        artifactGzipBytes: artGz,
        unpackedBytes: shipped,
        sourceMapBytes: mapBytes,
        sourceMapGzBytes: mapGz,
        parts,
        compression,
        dockerImages: DOCKER_IMAGES,
        dockerSource: DOCKER_SOURCE,
        serviceNodeModules: service,
        allProdNodeModules: allProd,
      },
    };
  },
};

async function sizeOf(ctx: BenchContext, name: string, dirs: string[]): Promise<Sized> {
  const files = dirs.flatMap(packageFiles);
  const list = join(ctx.tmp, `${name}.files`);
  await writeFile(list, `${files.map((f) => relative(REPO, f.path)).join('\n')}\n`);
  const gz = await $({ quiet: true })`tar -czf - -C ${REPO} -T ${list} | wc -c`;
  return {
    packages: dirs.length,
    bytes: files.reduce((n, f) => n + f.size, 0),
    gzBytes: Number(gz.stdout.trim()),
  };
}

/** The artifact's files grouped by what they are, each group's gzip -9 and brotli q9 size measured alone. */
function artifactParts(files: readonly { path: string; bytes: Buffer }[]) {
  const groups: { part: string; test: (p: string) => boolean }[] = [
    { part: 'bundle (app/index.js)', test: (p) => p === 'index.js' },
    { part: 'Swagger UI static files (app/static/)', test: (p) => p.startsWith('static/') },
    { part: 'other assets (workers, package.json, …)', test: () => true },
  ];
  const taken = new Set<string>(['index.js.map']);
  return groups.map((g) => {
    const mine = files.filter((f) => !taken.has(f.path) && g.test(f.path));
    for (const f of mine) taken.add(f.path);
    const tar = createTar(
      mine.map((f) => ({ path: f.path, bytes: f.bytes })),
      0,
    );
    return {
      part: g.part,
      files: mine.length,
      bytes: mine.reduce((n, f) => n + f.bytes.length, 0),
      gzBytes: gzipSync(tar, { level: 9 }).length,
      brBytes: brotliDeterministic(tar).length,
    };
  });
}
