import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../../app/auth/tokens';
import { spawnServer } from '../process';
import { SECRET, waitFor, walk } from '../support';

const hostTag = os.hostname().replace(/[^A-Za-z0-9_-]/g, '_');

describe('disk backend: a crash mid-upload', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-crash-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves no visible partial file, and the next start removes the debris', async () => {
    const first = await spawnServer({ STORAGE_DIR: dir });
    const token = await mintToken({
      secret: SECRET,
      subject: 'alice',
      scopes: ['read', 'write'],
      ttlSeconds: 600,
    });

    const boundary = 'crashboundary';
    const req = http.request(`${first.base}/v1/files`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'transfer-encoding': 'chunked',
      },
    });
    req.on('error', () => {});
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.bin"\r\n\r\n`);
    req.write(Buffer.alloc(256 * 1024, 1));
    // Wait until the upload's bytes are on disk, in its temporary folder.
    const partial = await waitFor(
      async () => (await walk(dir)).find((f) => f.startsWith('tmp/') && f.endsWith('/content')),
      'partial upload on disk',
    );
    expect(partial).toMatch(new RegExp(`^tmp/${hostTag}\\.${first.child.pid}\\.`));

    first.child.kill('SIGKILL');
    await first.exited;
    req.destroy();
    // Nothing under files/: the upload never became visible.
    expect((await walk(dir)).filter((f) => f.startsWith('files/'))).toEqual([]);

    // Debris from others: a live process of this host (the test runner), another host (recent
    // and day-old). Only the dead process's and the day-old entries may go.
    const live = path.join(dir, 'tmp', `${hostTag}.${process.pid}.live`);
    const foreignNew = path.join(dir, 'tmp', 'otherhost.123.new');
    const foreignOld = path.join(dir, 'tmp', 'otherhost.456.old');
    for (const d of [live, foreignNew, foreignOld]) {
      await mkdir(d);
      await writeFile(path.join(d, 'content'), 'x');
    }
    const dayAgo = new Date(Date.now() - 25 * 3600_000);
    await utimes(foreignOld, dayAgo, dayAgo);

    const second = await spawnServer({ STORAGE_DIR: dir });
    try {
      const left = await walk(path.join(dir, 'tmp'));
      expect(left).toEqual([`${hostTag}.${process.pid}.live/content`, 'otherhost.123.new/content'].sort());
      const list = await fetch(`${second.base}/v1/files`, { headers: { authorization: `Bearer ${token}` } });
      expect(((await list.json()) as { items: unknown[] }).items).toEqual([]);
      const usage = await fetch(`${second.base}/v1/usage`, { headers: { authorization: `Bearer ${token}` } });
      expect(((await usage.json()) as { bytes: number }).bytes).toBe(0);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
