// A packed runtime is reproducible (the same input gives the same bytes, so the same registry key) and
// is a working Node once a plain `tar -xzf` unpacks it.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { packRuntime } from '../../../pipeline/runtime/pack';
import { listFiles, NODE_22, requireTestRuntimes, testRuntime } from '../../support/node-runtimes';
import { describeIf, requireTool } from '../../support/require-tool';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describeIf([requireTestRuntimes(), requireTool('tar', 'tar')], 'packing a runtime', () => {
  it('packs the same binary to the same bytes twice, and the result runs', async () => {
    const rt = await testRuntime(NODE_22);
    const files = { node: await readFile(rt.binary), licence: await readFile(rt.licence) };
    const a = await packRuntime(files);
    const b = await packRuntime({ node: Buffer.from(files.node), licence: Buffer.from(files.licence) });
    expect(a.equals(b)).toBe(true);
    // gzip header: no timestamp, OS byte pinned to Unix.
    expect(a.readUInt32LE(4)).toBe(0);
    expect(a[9]).toBe(3);
    // About 40% of the 125 MB binary: the size a host downloads.
    expect(a.length).toBeLessThan(files.node.length / 2);

    const dir = await mkdtemp(join(tmpdir(), 'ferry-runtime-unpack-'));
    dirs.push(dir);
    await writeFile(join(dir, 'node.tar.gz'), a);
    const x = spawnSync('tar', ['-xzf', 'node.tar.gz', '-C', dir, '--no-same-owner'], { cwd: dir });
    expect(x.status, x.stderr.toString()).toBe(0);
    expect(await listFiles(dir)).toEqual(['LICENSE', 'bin/node', 'node.tar.gz']);
    const v = spawnSync(join(dir, 'bin', 'node'), ['--version']);
    expect(v.stdout.toString().trim()).toBe(`v${NODE_22}`);
  });

  it('a different licence gives different bytes (the pack covers both files)', async () => {
    const node = Buffer.from('\x7fELF stand-in');
    const a = await packRuntime({ node, licence: Buffer.from('MIT\n') });
    const b = await packRuntime({ node, licence: Buffer.from('MIT \n') });
    expect(a.equals(b)).toBe(false);
  });
});
