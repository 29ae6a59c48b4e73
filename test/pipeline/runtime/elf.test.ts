// The ELF reader against real binaries: the fetched official Node builds (x64 and arm64) and a distro
// binary that links more than glibc.
import { readFile } from 'node:fs/promises';
import { beforeAll, expect, it } from 'vitest';
import { VerificationError } from '../../../pipeline/errors';
import { foreignLibraries, readElf } from '../../../pipeline/runtime/elf';
import { checkBinary } from '../../../pipeline/runtime/prepare';
import { NODE_22, NODE_24, requireTestRuntimes, testRuntime } from '../../support/node-runtimes';
import { describeIf, requireTool } from '../../support/require-tool';

const OFFICIAL_LIBS = [
  'libdl.so.2',
  'libstdc++.so.6',
  'libm.so.6',
  'libgcc_s.so.1',
  'libpthread.so.0',
  'libc.so.6',
];

describeIf(requireTestRuntimes(), 'reading official Node builds', () => {
  let x64: Buffer;
  let x64v24: Buffer;
  let arm64: Buffer;
  beforeAll(async () => {
    x64 = await readFile((await testRuntime(NODE_22, 'x64')).binary);
    x64v24 = await readFile((await testRuntime(NODE_24, 'x64')).binary);
    arm64 = await readFile((await testRuntime(NODE_22, 'arm64')).binary);
  });

  it('finds the CPU, the linked libraries and the newest glibc symbol version', () => {
    expect(readElf(x64)).toEqual({
      arch: 'x64',
      machine: 62,
      needed: [...OFFICIAL_LIBS, 'ld-linux-x86-64.so.2'],
      glibc: '2.28',
    });
    expect(readElf(x64v24)).toMatchObject({ arch: 'x64', glibc: '2.28' });
    expect(readElf(arm64)).toEqual({
      arch: 'arm64',
      machine: 183,
      needed: [...OFFICIAL_LIBS, 'ld-linux-aarch64.so.1'],
      glibc: '2.28',
    });
    expect(foreignLibraries(readElf(x64))).toEqual([]);
    expect(foreignLibraries(readElf(arm64))).toEqual([]);
  });

  it('refuses a binary built for another CPU than claimed', () => {
    expect(checkBinary(x64, 'x64', 'test')).toBe('2.28');
    const err = (() => {
      try {
        checkBinary(x64, 'arm64', 'mirror/node-v22.23.5-linux-arm64.tar.gz');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toBe(
      'bin/node from mirror/node-v22.23.5-linux-arm64.tar.gz is built for x64, not arm64',
    );
  });

  it('refuses what is not an ELF file or is cut short', () => {
    expect(() => readElf(Buffer.from('#!/bin/sh\necho node\n'))).toThrow('not an ELF file');
    expect(() => readElf(x64.subarray(0, 4096))).toThrow('ELF section headers are missing or truncated');
    expect(() => checkBinary(Buffer.alloc(100), 'x64', 'x')).toThrow(
      /is not a Linux executable: not an ELF file/,
    );
  });
});

describeIf(requireTool('/bin/ls', 'coreutils'), 'reading distro binaries', () => {
  it('lists the libraries beyond glibc a distro build links, which makes it unshippable', async () => {
    const bytes = await readFile('/bin/ls');
    const ls = readElf(bytes);
    expect(ls.arch).toBe('x64');
    expect(ls.glibc).toMatch(/^2\.[0-9]+$/);
    expect(foreignLibraries(ls)).toContain('libselinux.so.1');
    expect(() => checkBinary(bytes, 'x64', '/bin/ls')).toThrow(
      /bin\/node from \/bin\/ls is not a self-contained official build: it links libselinux\.so\.1/,
    );
  });
});
