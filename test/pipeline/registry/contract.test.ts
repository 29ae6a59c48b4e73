// The Registry contract, run against both backends: what publish and the hosts rely on.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AlreadyExistsError } from '../../../pipeline/registry/registry';
import { type Backend, openBackend } from './backends';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ferry-contract-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe.each(['local', 'oss'] as const)('%s registry', (name) => {
  let b: Backend;
  beforeAll(async () => {
    b = await openBackend(name);
  });
  afterAll(() => b.close());
  afterEach(() => b.oss?.faults.clear());

  it('puts, gets and heads objects; missing keys are null', async () => {
    await b.registry.put('r/app/1.0.0/a.txt', Buffer.from('hello'));
    expect((await b.registry.get('r/app/1.0.0/a.txt'))?.toString()).toBe('hello');
    expect(await b.registry.head('r/app/1.0.0/a.txt')).toMatchObject({ size: 5 });
    expect(await b.registry.get('r/app/nope')).toBeNull();
    expect(await b.registry.head('r/app/nope')).toBeNull();
  });

  it('refuses to overwrite when asked, and overwrites otherwise', async () => {
    await b.registry.put('r/imm/x', Buffer.from('one'), { forbidOverwrite: true });
    await expect(
      b.registry.put('r/imm/x', Buffer.from('two'), { forbidOverwrite: true }),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
    expect((await b.registry.get('r/imm/x'))?.toString()).toBe('one');
    await b.registry.put('r/imm/x', Buffer.from('three'));
    expect((await b.registry.get('r/imm/x'))?.toString()).toBe('three');
  });

  it('lets exactly one of several racing forbid-overwrite writers win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        b.registry.put('r/race/x', Buffer.from(`writer ${i}`), { forbidOverwrite: true }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(AlreadyExistsError);
  });

  it('lists by prefix, sorted, with sizes and times', async () => {
    for (const k of ['r/list/b', 'r/list/a/2', 'r/list/a/1', 'r/listing-other'])
      await b.registry.put(k, Buffer.from(k));
    const listed = await b.registry.list('r/list/');
    expect(listed.map((o) => o.key)).toEqual(['r/list/a/1', 'r/list/a/2', 'r/list/b']);
    expect(listed[0]?.size).toBe('r/list/a/1'.length);
    expect(Number.isNaN(Date.parse(listed[0]?.lastModified ?? ''))).toBe(false);
  });

  it('deletes, and deleting a missing key is fine', async () => {
    await b.registry.put('r/del/x', Buffer.from('x'));
    await b.registry.delete('r/del/x');
    await b.registry.delete('r/del/x');
    expect(await b.registry.get('r/del/x')).toBeNull();
  });

  it('uploads files and downloads them back intact', async () => {
    const src = join(scratch, `${name}-src.bin`);
    const data = randomBytes(300 * 1024);
    await writeFile(src, data);
    const progress: number[] = [];
    await b.registry.putFile('r/files/big.bin', src, {
      forbidOverwrite: true,
      multipartThreshold: 200 * 1024,
      partSize: 100 * 1024,
      onProgress: (sent) => progress.push(sent),
    });
    expect(progress.at(-1)).toBe(data.length);
    const dest = join(scratch, `${name}-dest.bin`);
    await b.registry.download('r/files/big.bin', dest);
    expect((await readFile(dest)).equals(data)).toBe(true);
    await expect(
      b.registry.putFile('r/files/big.bin', src, { forbidOverwrite: true }),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
  });

  it('presigns URLs that need no credentials', async () => {
    await b.registry.put('r/pre/m.json', Buffer.from('{"a":1}'));
    const url = await b.registry.presign('r/pre/m.json', { expiresSeconds: 60, endpoint: 'internal' });
    if (name === 'local') {
      expect(url.startsWith('file://')).toBe(true);
      expect((await readFile(fileURLToPath(url))).toString()).toBe('{"a":1}');
    } else {
      expect(url.startsWith(`${b.oss?.endpoints.internal}/r/pre/m.json?`)).toBe(true);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"a":1}');
      expect(b.oss?.stats().internal?.requests).toBe(1);
    }
  });

  it('rejects keys that could escape the layout', async () => {
    for (const key of ['../x', '/abs', 'a//b', 'a/./b', '']) {
      await expect(b.registry.get(key)).rejects.toThrow(/invalid registry key/);
    }
  });
});
