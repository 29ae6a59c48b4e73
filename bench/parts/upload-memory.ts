// A 1 GiB upload streamed through the service: its peak memory and throughput, next to cp of the same
// file on the same disk (and the FastAPI reference on a smaller file: it is too slow for 1 GiB here).
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { token } from '../lib/api-client';
import { formatBytes, formatSeconds, formatThroughput } from '../lib/format';
import { freePort } from '../lib/net';
import type { BenchContext, Part, PartResult } from '../lib/part';
import { memStatus, type Tracked } from '../lib/procs';
import { serviceBundle, startFastApi, startFerry } from '../lib/servers';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const MIN_FREE = 4 * GiB;

interface Row {
  what: string;
  bytes: number;
  ms: number;
  rssBefore?: number;
  peakRss?: number;
}

export const part: Part = {
  name: 'upload',
  title: 'Upload memory: a 1 GiB streaming upload',
  async run(ctx: BenchContext): Promise<PartResult> {
    const size = ctx.quick ? 256 * MiB : GiB;
    const pySize = ctx.quick ? 64 * MiB : 256 * MiB;
    const fs = await statfs(ctx.tmp);
    const free = fs.bavail * fs.bsize;
    if (free < MIN_FREE) {
      return {
        tables: [],
        data: { free },
        skipped: `only ${formatBytes(free)} free in ${ctx.tmp}; needs 4 GiB`,
      };
    }
    const bundle = await serviceBundle(ctx);
    const src = join(ctx.tmp, 'upload.bin');
    ctx.log(`writing ${formatBytes(size)} of random bytes to ${src}`);
    // Random, not fallocate'd zeros: nothing on the way can skip or compress them.
    await $`head -c ${size} /dev/urandom > ${src}`;
    const rows: Row[] = [];

    // cp reads the same (cached) source; +sync adds the fsync the service also does.
    rows.push({ what: 'cp', bytes: size, ms: await timed(() => $`cp ${src} ${join(ctx.tmp, 'copy1')}`) });
    rows.push({
      what: 'cp + sync (fsync, as the service does)',
      bytes: size,
      ms: await timed(() => $`cp ${src} ${join(ctx.tmp, 'copy2')} && sync ${join(ctx.tmp, 'copy2')}`),
    });
    await $`rm -f ${join(ctx.tmp, 'copy1')} ${join(ctx.tmp, 'copy2')}`;

    const bearer = await token('big');
    {
      const port = await freePort();
      const storageDir = join(ctx.tmp, 'ferry-data');
      const proc = await startFerry(bundle, { port, storageDir, workers: 1 });
      rows.push({
        what: 'Ferry service (1 process), curl -F',
        ...(await upload(ctx, proc, port, bearer, src, size)),
      });
      await proc.stop();
      await $`rm -rf ${storageDir}`;
    }
    {
      const pySrc = join(ctx.tmp, 'upload-py.bin');
      await $`head -c ${pySize} ${src} > ${pySrc}`;
      const port = await freePort();
      const storageDir = join(ctx.tmp, 'fastapi-data');
      // Starlette spools uploads to a temp file: keep it on the same disk, inside the part's folder.
      const [proc] = await startFastApi({ port, storageDir, workers: 1, env: { TMPDIR: ctx.tmp } });
      rows.push({
        what: 'FastAPI reference (1 process), curl -F',
        ...(await upload(ctx, proc!, port, bearer, pySrc, pySize)),
      });
      await proc!.stop();
      await $`rm -rf ${storageDir} ${pySrc}`;
    }
    await $`rm -f ${src}`;

    return {
      tables: [
        {
          title: `Streaming upload of ${formatBytes(size)}: peak memory and throughput`,
          columns: [
            { header: 'what' },
            { header: 'size', right: true },
            { header: 'time', right: true },
            { header: 'throughput', right: true },
            { header: 'RSS before', right: true },
            { header: 'peak RSS', right: true },
          ],
          rows: rows.map((r) => [
            r.what,
            formatBytes(r.bytes),
            formatSeconds(r.ms),
            formatThroughput(r.bytes, r.ms),
            r.rssBefore === undefined ? '–' : formatBytes(r.rssBefore),
            r.peakRss === undefined ? '–' : formatBytes(r.peakRss),
          ]),
          notes: [
            'Source: random bytes in a file on the same disk, in the page cache; curl streams it as multipart (field "file").',
            'Peak RSS: VmHWM of the server process from /proc (the high-water mark since start, start-up included).',
            `The FastAPI row uses ${formatBytes(pySize)}: python-multipart parses in pure Python, and 1 GiB would not fit the time budget; its memory stays flat because Starlette spools to a temp file (then the app copies it: the bytes hit the disk twice).`,
          ],
        },
      ],
      data: { size, pySize, rows },
    };
  },
};

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function upload(
  ctx: BenchContext,
  proc: Tracked,
  port: number,
  bearer: string,
  file: string,
  size: number,
) {
  // A small request first, so "before" is the warmed-up process, not a half-loaded one.
  await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.arrayBuffer());
  const rssBefore = memStatus(proc.pid)?.rss;
  ctx.log(`${proc.name}: uploading ${formatBytes(size)}`);
  const t0 = performance.now();
  const out = await $({
    quiet: true,
    timeout: '300s',
  })`curl -sS --fail-with-body -H ${`Authorization: Bearer ${bearer}`} -F ${`file=@${file};type=application/octet-stream`} http://127.0.0.1:${port}/v1/files`;
  const ms = performance.now() - t0;
  const peakRss = memStatus(proc.pid)?.peakRss;
  const stored = JSON.parse(out.stdout) as { size: number };
  if (stored.size !== size) throw new Error(`${proc.name} stored ${stored.size} bytes, sent ${size}`);
  ctx.log(`  ${formatSeconds(ms)}, peak RSS ${peakRss === undefined ? '?' : formatBytes(peakRss)}`);
  return { bytes: size, ms, rssBefore, peakRss };
}
