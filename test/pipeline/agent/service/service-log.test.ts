// The process-mode service log on a real file: lines buffered and written whole, rotation by size that
// keeps N files, never splits a line and loses none; the line writer's handling of partial and runaway
// lines; and the journald form on stdout/stderr.
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseFileLine } from '../../../../pipeline/agent/service/log-record';
import {
  journalLog,
  MAX_LINE_BYTES,
  RotatingFileLog,
  rotatedNames,
} from '../../../../pipeline/agent/service/service-log';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-service-log-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const linesOf = async (file: string) =>
  (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l.length > 0);

describe('RotatingFileLog', () => {
  it('writes prefixed lines; partial lines wait for their newline; end() writes the rest', async () => {
    const path = join(dir, 'service.log');
    const log = new RotatingFileLog(path, { maxBytes: 1 << 20, files: 2 });
    const w = log.writer('1.0.0', 321, 'out');
    w.write('first\nsec');
    w.write('ond\r\nthi');
    log.line('supervisor: hello');
    w.end();
    log.close();
    const records = (await linesOf(path)).map(parseFileLine);
    expect(records.map((r) => [r.release, r.pid, r.stream, r.line])).toEqual([
      ['1.0.0', 321, 'out', 'first'],
      ['1.0.0', 321, 'out', 'second'],
      [null, process.pid, 'sup', 'supervisor: hello'],
      ['1.0.0', 321, 'out', 'thi'],
    ]);
    for (const r of records) expect(Date.parse(r.time as string)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('cuts a line that never ends at MAX_LINE_BYTES', async () => {
    const path = join(dir, 'service.log');
    const log = new RotatingFileLog(path, { maxBytes: 1 << 20, files: 1 });
    const w = log.writer('1.0.0', 1, 'err');
    w.write('x'.repeat(MAX_LINE_BYTES * 2 + 10));
    w.end();
    log.close();
    expect((await linesOf(path)).map((l) => parseFileLine(l).line.length)).toEqual([
      MAX_LINE_BYTES,
      MAX_LINE_BYTES,
      10,
    ]);
  });

  it('rotates by size, keeps `files` rotated files, and loses or splits no line in those it keeps', async () => {
    const path = join(dir, 'service.log');
    const maxBytes = 4096;
    const log = new RotatingFileLog(path, { maxBytes, files: 3 });
    const w = log.writer('2.0.0', 55, 'out');
    // Several flushes of different sizes: one turn of the event loop each.
    for (let batch = 0; batch < 40; batch++) {
      let chunk = '';
      for (let i = 0; i < 10 + batch; i++) chunk += `line ${batch}-${i} ${'p'.repeat(batch)}\n`;
      w.write(chunk);
      await new Promise((r) => setImmediate(r));
    }
    log.close();
    expect((await readdir(dir)).sort()).toEqual([
      'service.log',
      'service.log.1',
      'service.log.2',
      'service.log.3',
    ]);
    for (const f of rotatedNames(path, 3)) expect((await stat(f)).size).toBeLessThanOrEqual(maxBytes);
    // Oldest file first: together they are one unbroken run of lines ending with the last one written.
    const kept: string[] = [];
    for (const f of rotatedNames(path, 3).reverse())
      kept.push(...(await linesOf(f)).map((l) => parseFileLine(l).line));
    const all: string[] = [];
    for (let batch = 0; batch < 40; batch++)
      for (let i = 0; i < 10 + batch; i++) all.push(`line ${batch}-${i} ${'p'.repeat(batch)}`);
    expect(kept.length).toBeGreaterThan(40);
    expect(kept).toEqual(all.slice(-kept.length));
  });

  it('appends to the file an earlier supervisor left, counting its size', async () => {
    const path = join(dir, 'service.log');
    const first = new RotatingFileLog(path, { maxBytes: 200, files: 1 });
    first.line('a'.repeat(150));
    first.close();
    const second = new RotatingFileLog(path, { maxBytes: 200, files: 1 });
    second.line('b'.repeat(150));
    second.close();
    expect((await linesOf(`${path}.1`)).map((l) => parseFileLine(l).line)).toEqual(['a'.repeat(150)]);
    expect((await linesOf(path)).map((l) => parseFileLine(l).line)).toEqual(['b'.repeat(150)]);
  });
});

describe('journalLog', () => {
  it('prints prefixed lines without a time: app stdout on stdout, the rest on stderr', () => {
    const out: string[] = [];
    const err: string[] = [];
    const log = journalLog({ write: (s: string) => out.push(s) }, { write: (s: string) => err.push(s) });
    log.writer('1.2.0', 10, 'out').write('hello\nworld\n');
    log.writer('1.2.0', 11, 'err').write('oops\n');
    log.line('supervisor: generation 2 (1.2.0) serving');
    expect(out).toEqual(['1.2.0 10 out hello\n', '1.2.0 10 out world\n']);
    expect(err).toEqual([
      '1.2.0 11 err oops\n',
      `- ${process.pid} sup supervisor: generation 2 (1.2.0) serving\n`,
    ]);
  });
});
