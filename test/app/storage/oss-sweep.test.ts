// At start the OSS backend sweeps tmp/: the temporary objects uploads go through, left behind when a
// delete failed. Only those older than a day, and only names an upload makes (tmp/<file id>.<uuid>):
// a fresh one may belong to an upload in flight on another worker, and anything else is not ours.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFileId } from '../../../app/storage/keys';
import { type Backend, type RunningApp, startApp, startBackend } from '../support';

const DAY_MS = 24 * 3600_000;

describe('the OSS backend at start', () => {
  let backend: Backend;
  let svc: RunningApp | undefined;
  beforeAll(async () => {
    backend = await startBackend('oss');
  });
  afterAll(async () => {
    await svc?.close();
    await backend?.close();
  });

  it('deletes tmp/ objects of uploads older than a day, and nothing else', async () => {
    const oss = backend.oss!;
    const at = (ms: number) => ({ lastModified: new Date(Date.now() - ms) });
    const tmpKey = () => `tmp/${newFileId('documents')}.${randomUUID()}`;
    const stale = [tmpKey(), tmpKey()];
    for (const k of stale) oss.putObject(k, 'left behind', at(DAY_MS + 60_000));
    const fresh = tmpKey();
    oss.putObject(fresh, 'an upload in flight', at(60_000));
    const foreign = 'tmp/not-an-upload.txt';
    oss.putObject(foreign, 'someone else', at(30 * DAY_MS));
    const file = `files/alice/documents/2026/01/${newFileId('documents')}`;
    oss.putObject(file, 'a stored file', at(30 * DAY_MS));

    svc = await startApp(backend);
    // The sweep runs in the background after start: wait for the deletes it was due to make.
    const deadline = Date.now() + 20_000;
    while (stale.some((k) => oss.getObject(k)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));

    expect(stale.filter((k) => oss.getObject(k))).toEqual([]);
    expect([...oss.objects().keys()].sort()).toEqual([file, foreign, fresh].sort());
    const deletes = oss.log.filter((e) => e.method === 'DELETE').map((e) => e.key);
    expect(deletes.sort()).toEqual([...stale].sort());
  });
});
