// Downloads against a loopback server that injects 5xx answers and connection resets.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadToFile, fetchSmall } from '../../../../pipeline/agent/install/download';
import { deployArgs, destroyHost, makeHost, runAgent, servedVersion } from '../../../fixtures/agent-host';
import { type RegistryServer, startRegistryServer } from '../../../fixtures/registry-server';
import { newSigningKey, publishFakeApp } from '../../../fixtures/releases';

let dir: string;
let reg: RegistryServer;
const body = Buffer.alloc(256 * 1024, 7);
const sha = createHash('sha256').update(body).digest('hex');
const fast = { baseDelayMs: 10, attempts: 4 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-dl-'));
  await writeFile(join(dir, 'blob.bin'), body);
  await writeFile(join(dir, 'small.json'), '{"a":1}');
  reg = await startRegistryServer(dir);
});

afterAll(async () => {
  await reg.close();
  await rm(dir, { recursive: true, force: true });
});

describe('downloadToFile', () => {
  it('retries 5xx answers and a reset mid-body, then hashes the complete file', async () => {
    reg.fail('blob.bin', { status: 503 }, { reset: 'mid-body' }, { status: 500 });
    const retries: string[] = [];
    const out = join(dir, 'out-1');
    const got = await downloadToFile(reg.url('blob.bin'), out, {
      ...fast,
      maxBytes: body.length,
      onRetry: (r) => retries.push(r.reason),
    });
    expect(got).toEqual({ size: body.length, sha256: sha });
    expect(await readFile(out)).toEqual(body);
    expect(reg.hits('blob.bin')).toBe(4);
    expect(retries).toHaveLength(3);
  });

  it('gives up after the configured attempts, naming the URL without its query', async () => {
    const before = reg.hits('blob.bin');
    reg.fail('blob.bin', ...Array.from({ length: 4 }, () => ({ status: 503 })));
    const err = await downloadToFile(reg.url('blob.bin'), join(dir, 'out-2'), {
      ...fast,
      maxBytes: body.length,
    }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/HTTP 503 \(gave up after 4 attempts\)/);
    expect((err as Error).message).not.toContain('Signature');
    expect(reg.hits('blob.bin') - before).toBe(4);
  });

  it('does not retry a 404 or a 403, and says a presigned URL may have expired', async () => {
    const before = reg.totalHits();
    await expect(
      downloadToFile(reg.url('missing.bin'), join(dir, 'o'), { ...fast, maxBytes: 10 }),
    ).rejects.toThrow(/404/);
    reg.fail('blob.bin', { status: 403 });
    await expect(
      downloadToFile(reg.url('blob.bin'), join(dir, 'o'), { ...fast, maxBytes: body.length }),
    ).rejects.toThrow(/presigned URL may have expired/);
    expect(reg.totalHits() - before).toBe(2);
  });

  it('stops a body larger than expected', async () => {
    await expect(
      downloadToFile(reg.url('blob.bin'), join(dir, 'o'), { ...fast, maxBytes: 1000 }),
    ).rejects.toThrow(/larger than the 1000 bytes/);
  });

  it('reads file:// URLs', async () => {
    const got = await downloadToFile(pathToFileURL(join(dir, 'blob.bin')).href, join(dir, 'out-3'), {
      maxBytes: body.length,
    });
    expect(got.sha256).toBe(sha);
  });
});

describe('fetchSmall', () => {
  it('returns null for a missing optional document, over http and file://', async () => {
    expect(await fetchSmall(reg.url('nope.sig'), { allowMissing: true })).toBeNull();
    expect(await fetchSmall(pathToFileURL(join(dir, 'nope.sig')).href, { allowMissing: true })).toBeNull();
    expect((await fetchSmall(reg.url('small.json')))?.toString()).toBe('{"a":1}');
  });
});

describe('agent deploy over a flaky registry', () => {
  it('retries the artifact download and deploys', async () => {
    const key = newSigningKey();
    const regDir = await mkdtemp(join(tmpdir(), 'ferry-registry-'));
    const flaky = await startRegistryServer(regDir);
    const host = await makeHost(key.publicKey);
    try {
      const v1 = await publishFakeApp(regDir, key, '1.0.0');
      flaky.fail(v1.keys.artifact, { status: 503 }, { reset: 'mid-body' });
      flaky.fail(v1.keys.manifest, { status: 502 });
      const run = await runAgent(deployArgs(host, flaky, v1));
      expect(run.result, run.stderr).toMatchObject({ ok: true, version: '1.0.0' });
      expect(flaky.hits(v1.keys.artifact)).toBe(3);
      expect(flaky.hits(v1.keys.manifest)).toBe(2);
      const retries = run.events.filter((e) => e.event === 'retry');
      expect(retries.map((e) => e.step)).toEqual(['verify', 'download', 'download']);
      expect(await servedVersion(host.port)).toBe('1.0.0');
    } finally {
      await destroyHost(host);
      await flaky.close();
      await rm(regDir, { recursive: true, force: true });
    }
  });
});
