// The OSS backend against the strict OSS-protocol server with injected faults: 503s, connection resets
// mid-body, corrupted bytes, lost responses. ali-oss retries none of these by itself.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, FerryError } from '../../../pipeline/errors';
import { ExitCode } from '../../../pipeline/exit-codes';
import { crc64 } from '../../../pipeline/registry/crc64';
import { OssRegistry, ossCredentialsFromEnv } from '../../../pipeline/registry/oss';
import { type OssServer, startOssServer } from '../../support/oss-server/index';
import { FAST_RETRY, ossConfig, ossRegistryFor } from './backends';

let oss: OssServer;
let reg: OssRegistry;
let dir: string;
beforeAll(async () => {
  oss = await startOssServer();
  reg = ossRegistryFor(oss);
  dir = await mkdtemp(join(tmpdir(), 'ferry-oss-'));
});
afterAll(async () => {
  await oss.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  oss.faults.clear();
  oss.resetStats();
});

const faultsIn = (op: string) => oss.log.filter((e) => e.op === op && e.fault).map((e) => e.fault);

describe('OSS registry under faults', () => {
  it('computes CRC-64/ECMA like OSS', () => {
    expect(crc64(Buffer.from('123456789'))).toBe('11051210869376104954');
  });

  it('retries 503s on reads, writes and listings', async () => {
    oss.faults.failNext(2, 503, { op: 'PutObject' });
    await reg.put('f/503', Buffer.from('x'));
    oss.faults.failNext(2, 503, { op: 'GetObject' });
    expect((await reg.get('f/503'))?.toString()).toBe('x');
    oss.faults.failNext(1, 500, { op: 'ListObjects' });
    expect((await reg.list('f/')).map((o) => o.key)).toEqual(['f/503']);
    expect(faultsIn('PutObject')).toEqual(['fail', 'fail']);
    expect(faultsIn('GetObject')).toEqual(['fail', 'fail']);
    expect(oss.faults.remaining().fail).toBe(0);
  });

  it('gives up after its retries with a clear error', async () => {
    oss.faults.failNext(10, 503, { op: 'GetObject' });
    const err = await reg.get('f/503').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as Error).message).toMatch(/OSS GET f\/503 failed \(gave up after retries\)/);
    expect(faultsIn('GetObject')).toHaveLength(5);
  });

  it('retries a connection reset in the middle of a GET body', async () => {
    const body = randomBytes(64 * 1024);
    oss.putObject('f/reset', body);
    oss.faults.resetNext(1, { op: 'GetObject', afterBytes: 1000 });
    expect((await reg.get('f/reset'))?.equals(body)).toBe(true);
    expect(faultsIn('GetObject')).toEqual(['reset']);
  });

  it('downloads through resets and corruption, checking length and CRC64', async () => {
    const body = randomBytes(256 * 1024);
    oss.putObject('f/dl', body);
    oss.faults.resetNext(1, { op: 'GetObject', afterBytes: 10_000, mode: 'fin' });
    oss.faults.corruptNext(1, { op: 'GetObject' });
    const dest = join(dir, 'dl.bin');
    await reg.download('f/dl', dest);
    expect((await readFile(dest)).equals(body)).toBe(true);
    expect(faultsIn('GetObject').sort()).toEqual(['corrupt', 'reset']);
  });

  it('notices a corrupted small read too', async () => {
    oss.putObject('f/small', Buffer.from('important bytes'));
    oss.faults.corruptNext(1, { op: 'GetObject' });
    expect((await reg.get('f/small'))?.toString()).toBe('important bytes');
    expect(faultsIn('GetObject')).toEqual(['corrupt']);
  });

  it('treats a lost PUT response followed by "already exists" as its own write', async () => {
    oss.faults.resetNext(1, { op: 'PutObject', afterBytes: 0 });
    await reg.put('f/lost', Buffer.from('mine'), { forbidOverwrite: true });
    expect(oss.getObject('f/lost')?.body.toString()).toBe('mine');
    expect(oss.log.filter((e) => e.op === 'PutObject').map((e) => e.code ?? e.status)).toEqual([
      200,
      'FileAlreadyExists',
    ]);
  });

  it('uploads in parts, retrying failed parts, and leaves no upload behind', async () => {
    const src = join(dir, 'parts.bin');
    const data = randomBytes(350 * 1024);
    await writeFile(src, data);
    oss.faults.failNext(2, 503, { op: 'UploadPart' });
    oss.faults.resetNext(1, { op: 'CompleteMultipartUpload', afterBytes: 0 });
    await reg.putFile('f/parts.bin', src, {
      forbidOverwrite: true,
      multipartThreshold: 100 * 1024,
      partSize: 100 * 1024,
    });
    expect(oss.getObject('f/parts.bin')?.body.equals(data)).toBe(true);
    expect(oss.getObject('f/parts.bin')?.type).toBe('Multipart');
    expect(oss.log.filter((e) => e.op === 'UploadPart' && e.status === 200)).toHaveLength(4);
    expect(faultsIn('UploadPart')).toEqual(['fail', 'fail']);
    expect(oss.uploads().size).toBe(0);
  });

  it('aborts the multipart upload when the object already exists', async () => {
    const src = join(dir, 'exists.bin');
    await writeFile(src, randomBytes(250 * 1024));
    oss.putObject('f/exists.bin', 'already here');
    await expect(
      reg.putFile('f/exists.bin', src, {
        forbidOverwrite: true,
        multipartThreshold: 100 * 1024,
        partSize: 100 * 1024,
      }),
    ).rejects.toMatchObject({ name: 'AlreadyExistsError' });
    expect(oss.uploads().size).toBe(0);
  });

  it('survives random 503s and resets across a series of operations', async () => {
    const chaotic = ossRegistryFor(oss, { retry: { retries: 10, baseDelayMs: 1, maxDelayMs: 5 } });
    oss.faults.random({ rate: 0.3, kinds: ['503', 'reset'], seed: 7 });
    for (let i = 0; i < 10; i++) await chaotic.put(`chaos/${i}`, Buffer.from(`v${i}`));
    const listed = await chaotic.list('chaos/');
    expect(listed).toHaveLength(10);
    for (let i = 0; i < 10; i++) expect((await chaotic.get(`chaos/${i}`))?.toString()).toBe(`v${i}`);
    expect(oss.log.some((e) => e.fault)).toBe(true);
  });
});

describe('OSS credentials', () => {
  it('names the missing environment variables', () => {
    let err: unknown;
    try {
      ossCredentialsFromEnv({ OSS_ACCESS_KEY_ID: 'id' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('OSS_ACCESS_KEY_SECRET not set');
    expect(
      ossCredentialsFromEnv({ OSS_ACCESS_KEY_ID: 'a', OSS_ACCESS_KEY_SECRET: 'b', OSS_SECURITY_TOKEN: 't' }),
    ).toEqual({
      accessKeyId: 'a',
      accessKeySecret: 'b',
      securityToken: 't',
    });
  });

  it('turns refused credentials into a config error (exit 3)', async () => {
    const bad = new OssRegistry(
      ossConfig(oss),
      { accessKeyId: oss.accessKeyId, accessKeySecret: 'wrong' },
      FAST_RETRY,
    );
    const err = await bad.get('anything').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(ExitCode.Config);
    expect((err as ConfigError).remedy).toContain('OSS_ACCESS_KEY_SECRET');
  });
});
