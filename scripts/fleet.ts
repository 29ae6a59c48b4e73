// npm run fleet -- --hosts 3 [--user ferrytest] [--port 2222] [--first-address 2]
// Starts a local SSH fleet for poking at deploys by hand; Ctrl-C (or SIGTERM) stops every sshd.
import { parseArgs } from 'node:util';
import { shellQuote, startFleet } from '../test/support/ssh-fleet';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '3' },
    user: { type: 'string' },
    port: { type: 'string' },
    'first-address': { type: 'string' },
  },
});

const fleet = await startFleet({
  count: Number(values.hosts),
  user: values.user,
  port: values.port === undefined ? undefined : Number(values.port),
  firstAddress: values['first-address'] === undefined ? undefined : Number(values['first-address']),
});

const out = [
  `fleet dir   ${fleet.dir}`,
  `known_hosts ${fleet.knownHostsPath}`,
  `node        ${fleet.node.path} ${fleet.node.version}`,
];
if (fleet.node.linked) out.push(`            linked ${fleet.node.linked}`);
for (const h of fleet.hosts) {
  out.push(
    '',
    `${h.name}  ${h.address}:${h.port}  user ${h.user}  sshd pid ${h.pid}`,
    `  key          ${h.privateKeyPath}`,
    `  fingerprint  ${h.hostKeyFingerprint}`,
    `  root         ${h.root}`,
    `  ssh          ${shellQuote(fleet.sshArgv(h))}`,
  );
}
out.push('', 'Ctrl-C stops the fleet.');
console.log(out.join('\n'));

// sshd children are unref'd so tests cannot hang on them; this keeps the script alive instead.
const keepAlive = setInterval(() => {}, 1 << 30);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping ${fleet.hosts.length} sshd…`);
    fleet
      .stop()
      .then(() => console.log('stopped.'))
      .catch((err: unknown) => {
        console.error(err);
        process.exitCode = 1;
      })
      .finally(() => clearInterval(keepAlive));
  });
}
