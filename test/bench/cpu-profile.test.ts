// Summaries and folded stacks of a V8 CPU profile, on a hand-made one: exact numbers.
import { describe, expect, it } from 'vitest';
import { type CpuProfile, foldedStacks, frameArea, summarize } from '../../bench/lib/cpu-profile';

const frame = (id: number, functionName: string, url: string, children: number[] = [], lineNumber = 0) => ({
  id,
  callFrame: { functionName, url, lineNumber },
  children,
});

// (root) ─┬ (idle)
//         ├ handler app/routes/files/content.ts:5 ─ readSmall app/storage/disk.ts:10 ─ openSync node:fs ─ open
//         └ writePayload node_modules/fastify/lib/reply.js:718 ─ writev
//         └ evaluate (start-up: left out)
const PROFILE: CpuProfile = {
  nodes: [
    frame(1, '(root)', '', [2, 3, 7, 9]),
    frame(2, '(idle)', ''),
    frame(3, 'handler', 'file:///repo/app/routes/files/content.ts', [4], 4),
    frame(4, 'readSmall', 'file:///repo/app/storage/disk.ts', [5], 9),
    frame(5, 'openSync', 'node:fs', [6], 569),
    frame(6, 'open', ''),
    frame(7, 'writePayload', 'file:///repo/node_modules/fastify/lib/reply.js', [8], 717),
    frame(8, 'writev', ''),
    frame(9, 'evaluate', ''),
  ],
  samples: [2, 6, 6, 4, 8, 8, 8, 2, 9],
  timeDeltas: [100, 10, 10, 5, 20, 20, 20, 100, 999],
};

describe('summarize', () => {
  it('adds self and inclusive time, and leaves start-up out', () => {
    const s = summarize(PROFILE, '/repo');
    expect(s.totalUs).toBe(285);
    expect(s.idleUs).toBe(200);
    expect(s.selfByFunction).toEqual([
      ['(idle)', 200],
      ['writev', 60],
      ['open', 20],
      ['readSmall app/storage/disk.ts:10', 5],
    ]);
    expect(s.selfByArea).toEqual([
      ['(idle)', 200],
      ['(native)', 80],
      ['app/storage', 5],
    ]);
    expect(Object.fromEntries(s.inclusive)).toMatchObject({
      '(root)': 285,
      'handler app/routes/files/content.ts:5': 25,
      'readSmall app/storage/disk.ts:10': 25,
      'openSync node:fs:570': 20,
      'writePayload fastify/lib/reply.js:718': 60,
    });
  });

  it('names a package by its node_modules folder, and Node internals by module', () => {
    expect(frameArea(frame(1, 'x', 'file:///r/node_modules/@fastify/busboy/deps/sbmh.js'))).toBe(
      '@fastify/busboy',
    );
    expect(frameArea(frame(1, 'x', 'node:internal/streams/readable'))).toBe('node:internal/streams');
  });
});

describe('foldedStacks', () => {
  it('gives one line per distinct busy stack, root first, µs at the end', () => {
    expect(foldedStacks(PROFILE, '/repo')).toBe(
      [
        'handler app/routes/files/content.ts:5;readSmall app/storage/disk.ts:10 5',
        'handler app/routes/files/content.ts:5;readSmall app/storage/disk.ts:10;openSync node:fs:570;open 20',
        'writePayload fastify/lib/reply.js:718;writev 60',
        '',
      ].join('\n'),
    );
  });
});
