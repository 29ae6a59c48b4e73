#!/usr/bin/env zx
import { randomBytes } from 'node:crypto';
// The whole Ferry story on this machine, no cloud account: the repo's releases.yaml (a local folder as
// the registry, two "hosts" that are folders under .ferry/hosts), the storage service as the app.
// publish 1.0.0 → setup → deploy → upload a file → publish 1.1.0 → deploy → roll back → status.
//   npm run demo             run it (resets .ferry/registry and .ferry/hosts first)
//   npm run demo -- --stop   stop the two demo services
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { $, argv, chalk, fs, path } from 'zx';

const root = path.resolve(import.meta.dirname, '..');
const state = path.join(root, '.ferry');
const hostsDir = path.join(state, 'hosts');
const ferry = path.join(root, 'bin', 'ferry.js');
$.cwd = root;
$.verbose = false;

const step = (n, text) => console.log(`\n${chalk.bold.cyan(`[${n}]`)} ${chalk.bold(text)}`);
const run = async (...args) => {
  console.log(chalk.dim(`$ ferry ${args.join(' ')}`));
  const p = $({ env, stdio: ['ignore', 'inherit', 'inherit'] })`node ${ferry} ${args}`.nothrow();
  const r = await p;
  if (r.exitCode !== 0) {
    console.error(chalk.red(`ferry ${args[0]} exited ${r.exitCode}; the demo stops here`));
    process.exit(r.exitCode ?? 1);
  }
};

async function stopServices() {
  if (!existsSync(hostsDir)) return;
  for (const h of readdirSync(hostsDir)) {
    const hostRoot = path.join(hostsDir, h);
    const agent = path.join(hostRoot, '.ferry', 'agent', 'index.js');
    if (existsSync(agent)) await $`node ${agent} service stop --root ${hostRoot}`.nothrow();
  }
}

if (argv.stop) {
  await stopServices();
  console.log('demo services stopped');
  process.exit(0);
}

// Keys live in .ferry/keys (git-ignored) and are reused; the public half reaches the CLI through the
// environment, so the committed releases.yaml stays free of anything machine-specific.
const keysDir = path.join(state, 'keys');
let keyFile = existsSync(keysDir) ? readdirSync(keysDir).find((f) => f.endsWith('.pem')) : undefined;
const env = { ...process.env, FORCE_COLOR: process.stdout.isTTY ? '1' : '0', FERRY_WHO: 'demo@localhost' };
delete env.FERRY_CONFIG;

step(1, 'Signing keys');
if (!keyFile) {
  const out = await $({ env })`node ${ferry} keygen --out ${keysDir} --json`;
  keyFile = path.basename(JSON.parse(out.stdout).privateKeyFile);
  console.log(`created ${path.join('.ferry/keys', keyFile)}`);
} else {
  console.log(`reusing ${path.join('.ferry/keys', keyFile)}`);
}
env.FERRY_SIGNING_KEY_FILE = path.join(keysDir, keyFile);
const { createPrivateKey, createPublicKey } = await import('node:crypto');
const jwk = createPublicKey(createPrivateKey(readFileSync(env.FERRY_SIGNING_KEY_FILE))).export({
  format: 'jwk',
});
env.FERRY_SIGNING_PUBLIC_KEY = `ed25519:${jwk.x}`;
console.log(`public key ${env.FERRY_SIGNING_PUBLIC_KEY}`);

step(2, 'A clean slate: stop old demo services, empty the local registry and hosts');
await stopServices();
await fs.rm(path.join(state, 'registry'), { recursive: true, force: true });
await fs.rm(hostsDir, { recursive: true, force: true });

step(
  3,
  'Publish 1.0.0: pack the Node runtime, ncc bundle → reproducible .tar.br → sign → upload to the registry',
);
await run('publish', '--version', '1.0.0');

step(4, 'Set up the two hosts: layout, agent, trusted key, secrets, supervised service');
const secretsFile = path.join(state, 'demo.env');
const authSecret = randomBytes(24).toString('hex');
await fs.writeFile(secretsFile, `AUTH_SECRET=${authSecret}\n`, { mode: 0o600 });
await run('setup', 'local', '--env-file', secretsFile);

step(5, 'Deploy 1.0.0: canary first, then the rest, each health-gated');
await run('deploy', 'local');

const { environments } = (await import('yaml')).parse(readFileSync(path.join(root, 'releases.yaml'), 'utf8'));
const ports = environments.local.hosts.map((h) => h.appPort);
const token = (
  await $({ env: { ...env, AUTH_SECRET: authSecret } })`node ${ferry} token --user alice --scopes read,write`
).stdout.trim();

step(
  6,
  'Use the service: upload a file to host-1, read it back from host-2 (shared storage on this machine)',
);
const form = new FormData();
form.append('file', new Blob(['hello from the ferry demo\n'], { type: 'text/plain' }), 'hello.txt');
const up = await fetch(`http://127.0.0.1:${ports[0]}/v1/files`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}` },
  body: form,
});
const file = await up.json();
console.log(`POST /v1/files → ${up.status} ${JSON.stringify(file)}`);

step(7, 'Publish 1.1.0 and deploy it');
await run('publish', '--version', '1.1.0');
await run('deploy', 'local');
for (const p of ports)
  console.log(`host on :${p} answers ${await (await fetch(`http://127.0.0.1:${p}/version`)).text()}`);

step(8, 'Roll back: back to 1.0.0 from disk, no download; 1.1.0 is marked bad');
await run('rollback', 'local');

const kept = await fetch(`http://127.0.0.1:${ports[0]}/v1/files/${file.id}/content`, {
  headers: { authorization: `Bearer ${token}` },
});
console.log(
  `after two switches, GET /v1/files/${file.id}/content on host-1 → ${kept.status} ${JSON.stringify(await kept.text())}`,
);

step(9, 'Where things stand');
await run('status', 'local');
await run('history', 'local');
await run('releases');

console.log(`\n${chalk.green.bold('Both hosts are serving.')} Poke at them:`);
for (const p of ports) console.log(`  curl http://127.0.0.1:${p}/version`);
console.log(
  `  curl -H "Authorization: Bearer $(AUTH_SECRET=${authSecret} npx ferry token --user alice)" http://127.0.0.1:${ports[0]}/v1/files`,
);
console.log(`  open http://127.0.0.1:${ports[0]}/docs`);
console.log(`  FERRY_SIGNING_PUBLIC_KEY=${env.FERRY_SIGNING_PUBLIC_KEY} npx ferry status local`);
console.log('  npm run demo -- --stop      # stop the two services');
