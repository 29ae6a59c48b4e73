// Reads what a Node binary needs from its ELF headers, without running it (an arm64 binary cannot run on
// an x64 CI machine): the CPU it was built for, the shared libraries it links (DT_NEEDED), and the highest
// GLIBC_2.x symbol version it asks for (.gnu.version_r), which is the oldest glibc a host may have.
import type { RuntimeArch } from '../release/manifest';

export interface ElfInfo {
  /** null for a CPU Ferry does not ship (e.g. 32-bit ARM). */
  arch: RuntimeArch | null;
  /** e_machine, for messages about an unknown CPU. */
  machine: number;
  /** DT_NEEDED entries, in file order, e.g. ["libdl.so.2", "libstdc++.so.6", ...]. */
  needed: string[];
  /** Highest GLIBC_2.x version needed, e.g. "2.28"; null when it needs none (static or musl). */
  glibc: string | null;
}

const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const SHT_DYNAMIC = 6;
const SHT_GNU_VERNEED = 0x6ffffffe;
const DT_NULL = 0n;
const DT_NEEDED = 1n;

/** Throws an Error saying what is wrong when `bytes` is not a 64-bit little-endian ELF file. */
export function readElf(bytes: Buffer): ElfInfo {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  // Both Linux targets Ferry ships (x86-64, aarch64) are ELF64 little-endian.
  if (bytes[4] !== 2) throw new Error('not a 64-bit ELF file');
  if (bytes[5] !== 1) throw new Error('not a little-endian ELF file');
  const machine = bytes.readUInt16LE(18);
  const arch: RuntimeArch | null = machine === EM_X86_64 ? 'x64' : machine === EM_AARCH64 ? 'arm64' : null;

  const shoff = num(bytes.readBigUInt64LE(40));
  const shentsize = bytes.readUInt16LE(58);
  const shnum = bytes.readUInt16LE(60);
  if (shoff === 0 || shentsize < 64 || shoff + shnum * shentsize > bytes.length) {
    throw new Error('ELF section headers are missing or truncated');
  }
  const sections = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return {
      type: bytes.readUInt32LE(at + 4),
      offset: num(bytes.readBigUInt64LE(at + 24)),
      size: num(bytes.readBigUInt64LE(at + 32)),
      link: bytes.readUInt32LE(at + 40),
    };
  });
  const within = (s: { offset: number; size: number }) => s.offset + s.size <= bytes.length;
  const stringAt = (table: { offset: number; size: number } | undefined, index: number): string => {
    if (!table || !within(table) || index >= table.size) throw new Error('ELF string index out of range');
    const start = table.offset + index;
    const end = bytes.indexOf(0, start);
    return bytes.toString('latin1', start, end < 0 ? table.offset + table.size : end);
  };

  const needed: string[] = [];
  const dynamic = sections.find((s) => s.type === SHT_DYNAMIC);
  if (dynamic && within(dynamic)) {
    const strtab = sections[dynamic.link];
    for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.size; at += 16) {
      const tag = bytes.readBigInt64LE(at);
      if (tag === DT_NULL) break;
      if (tag === DT_NEEDED) needed.push(stringAt(strtab, num(bytes.readBigUInt64LE(at + 8))));
    }
  }

  let glibc: [number, number] | null = null;
  const verneed = sections.find((s) => s.type === SHT_GNU_VERNEED);
  if (verneed && within(verneed)) {
    const strtab = sections[verneed.link];
    // Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
    // Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
    for (let vn = verneed.offset, guard = 0; guard < 1024; guard++) {
      const count = bytes.readUInt16LE(vn + 2);
      for (let aux = vn + bytes.readUInt32LE(vn + 8), j = 0; j < count; j++) {
        const m = /^GLIBC_2\.([0-9]+)$/.exec(stringAt(strtab, bytes.readUInt32LE(aux + 8)));
        if (m) glibc = newer(glibc, [2, Number(m[1])]);
        const next = bytes.readUInt32LE(aux + 12);
        if (next === 0) break;
        aux += next;
      }
      const next = bytes.readUInt32LE(vn + 12);
      if (next === 0) break;
      vn += next;
    }
  }
  return { arch, machine, needed, glibc: glibc ? `${glibc[0]}.${glibc[1]}` : null };
}

function newer(a: [number, number] | null, b: [number, number]): [number, number] {
  return a === null || b[1] > a[1] ? b : a;
}

function num(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('ELF offset too large');
  return Number(v);
}

/** The libraries every official (self-contained, glibc) Node build links, and nothing else. */
const SYSTEM_LIBRARY =
  /^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux-(x86-64|aarch64)\.so\.[12])$/;

/**
 * Libraries the binary links beyond glibc and the C++ runtime: a distro build linked against libnode,
 * libuv or the system OpenSSL would break on a host that lacks them, so it must not be shipped.
 */
export function foreignLibraries(info: ElfInfo): string[] {
  return info.needed.filter((lib) => !SYSTEM_LIBRARY.test(lib));
}
