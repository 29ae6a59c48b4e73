#!/usr/bin/env zx
// Ferry's benchmarks, next to the alternatives, in one run: `npm run bench`.
//   npm run bench -- --only service,artifact   some parts (run `npm run bench -- --list` for names)
//   npm run bench -- --quick                   shorter runs, smaller sizes (a smoke test of the bench)
// Tables go to stdout, progress to stderr, numbers to bench/results.json. Never part of `npm test`.
// Everything is in bench/runner.ts and bench/parts/; this only loads TypeScript and hands over.
import { register } from 'tsx/esm/api';

register();
const { runBench } = await import('./runner.ts');
const scriptAt = process.argv.findIndex((a) => /run\.mjs$/.test(a));
const code = await runBench(process.argv.slice(scriptAt + 1));
// Every child is stopped by now; exit even if a closed server left a handle behind.
process.exit(code);
