// A minimal cluster primary for the benchmark: N workers of a bundle sharing one port, round-robin, as
// Ferry's supervisor runs them (without its reload machinery). usage: node cluster.mjs ENTRY N
import cluster from 'node:cluster';

const [entry, count = '2'] = process.argv.slice(2);
const n = Number(count);
cluster.setupPrimary({ exec: entry });
for (let i = 0; i < n; i++) cluster.fork();

let listening = 0;
cluster.on('listening', () => {
  if (++listening === n) console.log(`cluster: ${n} workers listening`);
});
cluster.on('exit', (worker, code, signal) => {
  if (!stopping) {
    console.error(`cluster: worker ${worker.process.pid} died (${signal ?? code}); stopping`);
    stop();
  }
  if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
});

let stopping = false;
function stop() {
  stopping = true;
  for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  setTimeout(() => process.exit(1), 10_000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
