// Sizes and times of the release tar under each compression tried for the artifact: what a deploy would
// download, what packing costs at publish, and what decompressing costs on every host. Brotli is packed
// by the function `ferry build` uses (pipeline/build/tar.ts), so its row is exactly what ships.
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { ARTIFACT_BROTLI_QUALITY, brotliDeterministic } from '../../pipeline/build/tar';
import { median } from './format';

export interface CompressionResult {
  name: string;
  bytes: number;
  compressMs: number;
  /** Median of several runs. */
  decompressMs: number;
}

interface Method {
  name: string;
  pack(tar: Buffer): Buffer;
  unpack(b: Buffer): Buffer;
  /** Also measured in a --quick run (q10 and q11 take seconds each). */
  quick: boolean;
}

const gzip = (level: number, note = ''): Method => ({
  name: `gzip -${level}${note}`,
  pack: (t) => gzipSync(t, { level }),
  unpack: gunzipSync,
  quick: level === 9,
});

const brotli = (quality: number): Method => ({
  name: `brotli q${quality}${quality === ARTIFACT_BROTLI_QUALITY ? ' (what ferry build writes)' : ''}`,
  pack: (t) => brotliDeterministic(t, quality),
  unpack: (b) => brotliDecompressSync(b),
  quick: quality <= ARTIFACT_BROTLI_QUALITY,
});

export const METHODS: Method[] = [
  gzip(6),
  gzip(9, ' (ferry build before brotli)'),
  ...[5, 7, 9, 10, 11].map(brotli),
];

export function measureCompression(tar: Buffer, runs: number, quick = false): CompressionResult[] {
  return METHODS.filter((m) => !quick || m.quick).map((m) => {
    const t0 = performance.now();
    const packed = m.pack(tar);
    const compressMs = performance.now() - t0;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const s = performance.now();
      const out = m.unpack(packed);
      times.push(performance.now() - s);
      if (out.length !== tar.length) throw new Error(`${m.name}: round trip changed the size`);
    }
    return { name: m.name, bytes: packed.length, compressMs, decompressMs: median(times) };
  });
}
