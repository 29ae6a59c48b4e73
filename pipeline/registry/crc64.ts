// CRC-64/XZ (ECMA-182, reflected, init and xorout all ones): what OSS returns in x-oss-hash-crc64ecma as an
// unsigned decimal. ali-oss never checks it, so we do. Check value of "123456789": 11051210869376104954.
// Two uint32 halves instead of BigInt per byte: BigInt is far too slow for multi-MiB artifacts.
import { createReadStream } from 'node:fs';

const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let hi = 0;
  let lo = n;
  for (let k = 0; k < 8; k++) {
    const lsb = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi >>>= 1;
    if (lsb) {
      hi = (hi ^ 0xc96c5795) >>> 0;
      lo = (lo ^ 0xd7870f42) >>> 0;
    }
  }
  TABLE_HI[n] = hi;
  TABLE_LO[n] = lo;
}

export class Crc64 {
  private hi = 0xffffffff;
  private lo = 0xffffffff;

  update(bytes: Uint8Array): this {
    let hi = this.hi;
    let lo = this.lo;
    for (let i = 0; i < bytes.length; i++) {
      const t = (lo ^ (bytes[i] as number)) & 0xff;
      lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ (TABLE_LO[t] as number)) >>> 0;
      hi = ((hi >>> 8) ^ (TABLE_HI[t] as number)) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
    return this;
  }

  /** Unsigned decimal, the form OSS uses. */
  digest(): string {
    const hi = BigInt((this.hi ^ 0xffffffff) >>> 0);
    const lo = BigInt((this.lo ^ 0xffffffff) >>> 0);
    return ((hi << 32n) | lo).toString(10);
  }
}

export function crc64(bytes: Uint8Array): string {
  return new Crc64().update(bytes).digest();
}

export async function crc64File(path: string): Promise<string> {
  const crc = new Crc64();
  for await (const chunk of createReadStream(path)) crc.update(chunk as Buffer);
  return crc.digest();
}
