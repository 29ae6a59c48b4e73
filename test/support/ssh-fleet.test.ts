import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { NodeSSH } from 'node-ssh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOfPublicKey, hostKeyVerifier } from '../../pipeline/transport/host-key';
import { generateKeyPair } from './fleet/keys';
import { tcpAccepts } from './fleet/ports';
import { describeIf, requireRoot, requireTool } from './require-tool';
import {
  type Fleet,
  type FleetHost,
  isAlive,
  knownHostsLine,
  sshArgv,
  sshdConfig,
  startFleet,
} from './ssh-fleet';

describe('fleet builders', () => {
  it('writes an sshd config that allows only key login for the one user', () => {
    const config = sshdConfig({
      address: '127.0.0.3',
      port: 2222,
      hostKeyPath: '/f/hosts/host2/ssh_host_ed25519_key',
      pidFile: '/f/hosts/host2/sshd.pid',
      authorizedKeysFile: '/f/authorized_keys',
      user: 'ferrytest',
    }).split('\n');
    for (const line of [
      'ListenAddress 127.0.0.3:2222',
      'HostKey /f/hosts/host2/ssh_host_ed25519_key',
      'AuthorizedKeysFile /f/authorized_keys',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'AllowUsers ferrytest',
      'PermitRootLogin no',
      'MaxStartups 100:30:200',
    ]) {
      expect(config).toContain(line);
    }
  });

  it('uses the [addr]:port known_hosts form only when the port is not 22', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICORr2O6liwzrshmGf2XZ/uoQusR2s9fW68KbU5nVoan fixture';
    expect(knownHostsLine('127.0.0.2', 2222, key)).toBe(`[127.0.0.2]:2222 ${key.replace(' fixture', '')}`);
    expect(knownHostsLine('127.0.0.2', 22, key)).toBe(`127.0.0.2 ${key.replace(' fixture', '')}`);
  });

  it('builds an ssh argv that ignores ~/.ssh and trusts only the fleet known_hosts', () => {
    const argv = sshArgv(
      { address: '127.0.0.2', port: 2200, user: 'u', privateKeyPath: '/k', knownHostsPath: '/kh' },
      'true',
    );
    expect(argv.slice(0, 3)).toEqual(['ssh', '-F', '/dev/null']);
    expect(argv).toContain('StrictHostKeyChecking=yes');
    expect(argv).toContain('UserKnownHostsFile=/kh');
    expect(argv.slice(-2)).toEqual(['u@127.0.0.2', 'true']);
  });
});

const requirements = [
  requireTool('/usr/sbin/sshd', 'openssh-server'),
  requireTool('ssh', 'openssh-client'),
  requireTool('ssh-keygen', 'openssh-client'),
  requireRoot('creates the ferrytest user and runs sshd'),
];

const connect = (h: FleetHost, over: { fingerprint?: string; privateKey?: string; username?: string } = {}) =>
  new NodeSSH().connect({
    host: h.address,
    port: h.port,
    username: over.username ?? h.user,
    privateKey: over.privateKey ?? h.privateKey,
    hostVerifier: hostKeyVerifier(over.fingerprint ?? h.hostKeyFingerprint),
    readyTimeout: 10_000,
  });

describeIf(requirements, 'ssh fleet (3 real sshd hosts)', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ count: 3 });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('gives each host its own loopback address and host key, all in one known_hosts', async () => {
    expect(fleet.hosts.map((h) => [h.name, h.address])).toEqual([
      ['host1', '127.0.0.2'],
      ['host2', '127.0.0.3'],
      ['host3', '127.0.0.4'],
    ]);
    expect(new Set(fleet.hosts.map((h) => h.hostKeyFingerprint)).size).toBe(3);
    for (const h of fleet.hosts) {
      // ssh-keygen -lf (what the fleet reports) and our Node implementation must agree.
      expect(fingerprintOfPublicKey(h.hostPublicKey)).toBe(h.hostKeyFingerprint);
      expect(h.knownHostsLine.startsWith(h.port === 22 ? `${h.address} ` : `[${h.address}]:${h.port} `)).toBe(
        true,
      );
    }
    const knownHosts = (await readFile(fleet.knownHostsPath, 'utf8')).trim().split('\n');
    expect(knownHosts).toEqual(fleet.hosts.map((h) => h.knownHostsLine));
  });

  it('runs commands on all hosts in parallel over node-ssh with pinned host keys', async () => {
    const { uid } = await stat(fleet.hosts[0]!.root);
    const results = await Promise.all(
      fleet.hosts.map(async (h) => {
        const ssh = await connect(h);
        try {
          const r = await ssh.execCommand(
            `echo $USER $(hostname) && node --version && pwd && printf %s ${h.name} > hello && id -u`,
            { cwd: h.root },
          );
          return { h, r };
        } finally {
          ssh.dispose();
        }
      }),
    );
    for (const { h, r } of results) {
      expect(r.code, r.stderr).toBe(0);
      const [who, version, pwd, id] = r.stdout.split('\n');
      expect(who?.split(' ')[0]).toBe('ferrytest');
      expect(version).toBe(fleet.node.version);
      expect(version).toMatch(/^v\d+\.\d+\.\d+$/);
      expect(pwd).toBe(h.root);
      expect(Number(id)).toBe(uid);
      // The file landed in this host's root, written as the user (not root).
      expect(await readFile(join(h.root, 'hello'), 'utf8')).toBe(h.name);
      expect((await stat(join(h.root, 'hello'))).uid).toBe(uid);
    }
    expect(uid).not.toBe(0);
  });

  it('refuses a host whose key is not the expected one', async () => {
    const [h1, h2] = fleet.hosts as [FleetHost, FleetHost];
    await expect(connect(h1, { fingerprint: h2.hostKeyFingerprint })).rejects.toThrow(/Host denied/);
  });

  it('refuses a client key that is not authorized, and root', async () => {
    const h = fleet.hosts[0]!;
    const intruder = await generateKeyPair(join(fleet.dir, 'intruder'), 'intruder');
    await expect(connect(h, { privateKey: intruder.privateKey })).rejects.toThrow(
      /authentication methods failed/,
    );
    await expect(connect(h, { username: 'root' })).rejects.toThrow(/authentication methods failed/);
  });

  it('stop() kills every sshd, closes the ports and removes the dir', async () => {
    const pids = fleet.hosts.map((h) => h.pid);
    expect(pids.every((pid) => isAlive(pid))).toBe(true);
    await fleet.stop();
    for (const pid of pids) {
      expect(() => process.kill(pid, 0), `sshd ${pid} still alive`).toThrow(/ESRCH/);
    }
    for (const h of fleet.hosts) expect(await tcpAccepts(h.address, h.port)).toBe(false);
    expect(existsSync(fleet.dir)).toBe(false);
  });
});

describeIf(requirements, 'ssh fleet setup errors', () => {
  it('says so when the fleet user cannot reach the fleet dir', async () => {
    const closed = await mkdtemp(join(tmpdir(), 'ferry-fleet-closed-'));
    try {
      await expect(startFleet({ count: 1, baseDir: closed })).rejects.toThrow(
        /cannot read .*authorized_keys/,
      );
      // Nothing was left inside: the failed start cleaned up after itself.
      expect(await readdir(closed)).toEqual([]);
    } finally {
      await rm(closed, { recursive: true, force: true });
    }
  });
});

describeIf(requirements, 'ssh fleet left behind by a dying process', () => {
  const fleetModule = fileURLToPath(new URL('./ssh-fleet.ts', import.meta.url));
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'ferry-fleet-orphan-'));
    // mkdtemp makes it 0700; the fleet user must be able to traverse it.
    await chmod(scratch, 0o755);
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  // Starts a one-host fleet in a child process, which prints the sshd pid and then ends as `ending` says.
  async function orphanedPid(
    ending: 'process.exit(3)' | 'await new Promise(() => setInterval(() => {}, 1e6))',
  ) {
    const script = join(scratch, `child-${Date.now()}.mts`);
    await writeFile(
      script,
      `import { startFleet } from ${JSON.stringify(fleetModule)};
const f = await startFleet({ count: 1, baseDir: ${JSON.stringify(scratch)}, firstAddress: 30 });
console.log(JSON.stringify({ pid: f.hosts[0].pid }));
${ending};
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d;
        const m = /"pid":(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code) => reject(new Error(`child exited ${code} before reporting: ${out}`)));
    });
    return { child, pid };
  }

  async function gone(pid: number): Promise<boolean> {
    for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
    return !isAlive(pid);
  }

  it('kills sshd when the process exits without stop()', async () => {
    const { pid } = await orphanedPid('process.exit(3)');
    expect(await gone(pid)).toBe(true);
  });

  it('kills sshd when the process is SIGKILLed', async () => {
    const { child, pid } = await orphanedPid('await new Promise(() => setInterval(() => {}, 1e6))');
    expect(isAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    expect(await gone(pid)).toBe(true);
  });
});
