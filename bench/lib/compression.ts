// Sizes and times of the release tar under each compression tried for the artifact: what a deploy would
// download, what packing costs at publish, and what decompressing costs on every host.
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';
import { median } from './format';

export interface CompressionResult {
  name: string;
  bytes: number;
  compressMs: number;
  /** Median of several runs. */
  decompressMs: number;
}

const brotli = (quality: number, size: number) => ({
  params: {
    [constants.BROTLI_PARAM_QUALITY]: quality,
    [constants.BROTLI_PARAM_SIZE_HINT]: size,
    [constants.BROTLI_PARAM_LGWIN]: 24,
  },
});

export const METHODS: { name: string; pack(tar: Buffer): Buffer; unpack(b: Buffer): Buffer }[] = [
  { name: 'gzip -6', pack: (t) => gzipSync(t, { level: 6 }), unpack: gunzipSync },
  { name: 'gzip -9 (what ferry build writes)', pack: (t) => gzipSync(t, { level: 9 }), unpack: gunzipSync },
  {
    name: 'brotli q9',
    pack: (t) => brotliCompressSync(t, brotli(9, t.length)),
    unpack: (b) => brotliDecompressSync(b),
  },
  {
    name: 'brotli q11',
    pack: (t) => brotliCompressSync(t, brotli(11, t.length)),
    unpack: (b) => brotliDecompressSync(b),
  },
];

export function measureCompression(tar: Buffer, runs: number): CompressionResult[] {
  return METHODS.map((m) => {
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
