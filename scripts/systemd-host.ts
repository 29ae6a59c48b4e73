// npm run systemd-host -- [--name sdhost] [--address 127.0.0.40] [--port 2222] [--user ferrydeploy]
//                         [--root DIR] [--sudoers FILE]
// Boots one systemd test host (test/support/systemd-host.ts) to poke at by hand and prints how to reach
// it; Ctrl-C (or SIGTERM) powers it off and removes its directory.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { systemdHostsYaml } from '../test/support/config-yaml';
import { shellQuote } from '../test/support/ssh-fleet';
import { bootSystemdHost, SSHD_UNIT } from '../test/support/systemd-host';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    address: { type: 'string' },
    port: { type: 'string' },
    user: { type: 'string' },
    root: { type: 'string' },
    sudoers: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log(`usage: npm run systemd-host -- [--name N] [--address 127.0.0.X] [--port P] [--user U]
                            [--root DIR] [--sudoers FILE]
Boots real systemd as PID 1 of its own namespaces, with sshd for the deploy user inside.
Needs root, systemd, util-linux, openssh-server and sudo. Ctrl-C powers it off.`);
  process.exit(0);
}

const host = await bootSystemdHost({
  name: values.name,
  address: values.address,
  port: values.port === undefined ? undefined : Number(values.port),
  user: values.user,
  root: values.root,
  sudoers: values.sudoers === undefined ? undefined : await readFile(values.sudoers, 'utf8'),
});

const t = host.target;
const boot = host.lastBoot!;
const inside = (argv: string[]) =>
  shellQuote(['nsenter', '-t', String(host.pid), '-m', '-p', '-u', '-i', ...argv]);
console.log(
  [
    `systemd host ${t.name}: ${boot.state}${boot.failedUnits.length ? ` (failed: ${boot.failedUnits.join(', ')})` : ''}, PID 1 is ${host.pid} on this machine`,
    `host dir     ${host.layout.dir}`,
    `deploy root  ${t.root}  (owned by ${t.user})`,
    `ssh          ${shellQuote(host.sshArgv())}`,
    `key          ${t.privateKeyPath}`,
    `fingerprint  ${t.hostKeyFingerprint}`,
    `known_hosts  ${t.knownHostsLine}`,
    `root shell   ${inside(['bash'])}`,
    `units        ${inside(['systemctl', 'list-units', '--type=service'])}`,
    `sshd log     ${inside(['journalctl', '-u', SSHD_UNIT])}`,
    `sudo rules   ${host.layout.private.sudoersD}  (the host's /etc/sudoers.d)`,
    '',
    'releases.yaml (environment):',
    '    transport: ssh',
    `    user: ${t.user}`,
    `    path: ${t.root}`,
    systemdHostsYaml([t], [3000]).trimEnd(),
    `and FERRY_SSH_KEY_FILE=${t.privateKeyPath}`,
    '',
    'Ctrl-C powers the host off and removes its directory.',
  ].join('\n'),
);

// The host's processes are unref'd so tests cannot hang on them; this keeps the script alive instead.
const keepAlive = setInterval(() => {}, 1 << 30);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: powering off ${t.name}…`);
    host
      .stop()
      .then(() => console.log('stopped.'))
      .catch((err: unknown) => {
        console.error(err);
        process.exitCode = 1;
      })
      .finally(() => clearInterval(keepAlive));
  });
}
