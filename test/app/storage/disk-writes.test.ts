// The disk backend's upload path: which folders it flushes, and that no upload, stored or refused, keeps
// a file open afterwards (it holds FileHandles across the stream, the flushes and the rename).
import { readdirSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldersToSync } from '../../../app/storage/disk';
import { skipBytes } from '../../../app/storage/streams';
import { type Backend, type RunningApp, startApp, startBackend, upload } from '../support';

describe('foldersToSync', () => {
  it('is the target folder alone when mkdir made nothing', () => {
    expect(foldersToSync('/s/files/alice/other/2026/12', undefined)).toEqual([
      '/s/files/alice/other/2026/12',
    ]);
  });

  it('adds the parent of every folder mkdir made', () => {
    expect(foldersToSync('/s/files/alice/other/2026/12', '/s/files/alice/other/2026/12')).toEqual([
      '/s/files/alice/other/2026/12',
      '/s/files/alice/other/2026',
    ]);
    expect(foldersToSync('/s/files/alice/other/2026/12', '/s/files/alice')).toEqual([
      '/s/files/alice/other/2026/12',
      '/s/files/alice/other/2026',
      '/s/files/alice/other',
      '/s/files/alice',
      '/s/files',
    ]);
  });
});

describe('skipBytes (what is left after a short write)', () => {
  const b = (s: string) => Buffer.from(s);
  const text = (bufs: Buffer[]) => bufs.map((x) => x.toString());

  it('drops whole buffers and cuts into the first one left', () => {
    expect(text(skipBytes([b('abc'), b('de'), b('f')], 0))).toEqual(['abc', 'de', 'f']);
    expect(text(skipBytes([b('abc'), b('de'), b('f')], 2))).toEqual(['c', 'de', 'f']);
    expect(text(skipBytes([b('abc'), b('de'), b('f')], 3))).toEqual(['de', 'f']);
    expect(text(skipBytes([b('abc'), b('de'), b('f')], 4))).toEqual(['e', 'f']);
    expect(text(skipBytes([b('abc'), b('de'), b('f')], 6))).toEqual([]);
  });
});

describe('disk uploads', () => {
  let backend: Backend;
  let svc: RunningApp;

  beforeAll(async () => {
    backend = await startBackend('disk');
    svc = await startApp(backend, { MAX_UPLOAD_BYTES: String(2 * 1024 * 1024) });
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });

  /** Descriptors of this process (the app runs in it) open on anything in the storage folder. */
  const openInStorage = () =>
    readdirSync('/proc/self/fd')
      .map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return '';
        }
      })
      .filter((target) => target.startsWith(backend.dir!));

  it('closes every file it opened, for stored and refused uploads alike', async () => {
    const stored = await Promise.all(
      [0, 1, 1024 * 1024].map((n, i) => upload(svc, 'alice', `f${i}.bin`, Buffer.alloc(n, i))),
    );
    expect(stored.map((f) => f.size)).toEqual([0, 1, 1024 * 1024]);

    const tooBig = new FormData();
    tooBig.append('file', new Blob([Buffer.alloc(3 * 1024 * 1024)]), 'big.bin');
    const res = await fetch(`${svc.base}/v1/files`, {
      method: 'POST',
      body: tooBig,
      headers: await svc.auth('alice'),
    });
    expect(res.status).toBe(413);
    // The refused upload's temp folder is removed after the answer; give it a moment.
    await new Promise((r) => setTimeout(r, 100));
    expect(openInStorage()).toEqual([]);
  });
});
