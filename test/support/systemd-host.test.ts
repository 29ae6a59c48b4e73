import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { NodeSSH } from 'node-ssh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../pipeline/config/load';
import { fingerprintOfPublicKey, hostKeyVerifier } from '../../pipeline/transport/host-key';
import { systemdHostsYaml } from './config-yaml';
import { run } from './fleet/exec';
import { tcpAccepts } from './fleet/ports';
import { isAlive } from './fleet/processes';
import { describeIf, requireRoot, requireTool } from './require-tool';
import {
  bootSystemdHost,
  DEFAULT_BASE_DIR,
  processesInNamespace,
  removeStaleHosts,
  SSHD_UNIT,
  SYSTEMD_HOST_TOOLS,
  type SystemdHost,
} from './systemd-host';
import { hierarchies } from './systemd-host/cgroups';
import {
  checkSudoersName,
  enterScript,
  initScript,
  journaldDropIn,
  nsenterArgv,
  sshdUnit,
  unshareArgv,
} from './systemd-host/commands';
import { checkOnRealDisk, hostLayout, ownerPid } from './systemd-host/layout';
import { waitForLogin } from './systemd-host/sshd';
import {
  machineEnabledUnits,
  masksFor,
  parseShow,
  STATIC_MASKS,
  unexpectedUnits,
} from './systemd-host/units';

const dirs = {
  etcSystemd: '/b/h/etc-systemd-system',
  sudoersD: '/b/h/etc-sudoers.d',
  varLibSystemd: '/b/h/var-lib-systemd',
  varTmp: '/b/h/var-tmp',
};

describe('systemd host builders', () => {
  const script = initScript({
    dirs,
    masks: ['ssh.service', 'systemd-tmpfiles-setup.service'],
    hideNode: [{ dir: '/usr/bin', names: ['node', 'nodejs'] }],
    journaldConf: journaldDropIn(),
  });
  const lines = script.split('\n');
  const at = (line: string) => {
    const i = lines.indexOf(line);
    expect(i, `missing line: ${line}`).toBeGreaterThan(-1);
    return i;
  };

  it('mounts a private /tmp, /run and /dev before systemd starts, and the per-host dirs over /etc', () => {
    const exec = lines.findIndex((l) => l.startsWith('exec env -i container=docker'));
    expect(exec).toBeGreaterThan(-1);
    expect(lines[exec + 1]).toBe('  /lib/systemd/systemd --system --unit=multi-user.target');
    for (const line of [
      'mount --make-rprivate /',
      'mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp',
      'mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run',
      'mount -t tmpfs -o mode=755,nosuid tmpfs /dev',
      'mount -o remount,bind,ro /proc/sys',
      'mount -o remount,bind,ro /sys',
      "mount --bind '/b/h/var-tmp' /var/tmp",
      "mount --bind '/b/h/etc-systemd-system' /etc/systemd/system",
      "mount --bind '/b/h/etc-sudoers.d' /etc/sudoers.d",
      "mount --bind '/b/h/var-lib-systemd' /var/lib/systemd",
    ]) {
      expect(at(line)).toBeLessThan(exec);
    }
    // rprivate first: no mount made here may propagate to the machine.
    expect(at('mount --make-rprivate /')).toBe(3);
  });

  it('masks in system.control, which outranks /etc/systemd/system, and makes the journal volatile', () => {
    expect(at("for u in 'ssh.service' 'systemd-tmpfiles-setup.service'; do")).toBeGreaterThan(
      at('mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run'),
    );
    at('  ln -s /dev/null "/run/systemd/system.control/$u"');
    expect(script).toContain(
      "cat > /run/systemd/journald.conf.d/ferry-test-host.conf <<'FERRY_EOF'\n# Ferry test host",
    );
    expect(journaldDropIn().split('\n')).toEqual(
      expect.arrayContaining(['[Journal]', 'Storage=volatile', 'ForwardToSyslog=no', 'ForwardToWall=no']),
    );
  });

  it('hides node behind an overlay whiteout, not a /dev/null bind', () => {
    const mkdirAt = at('mkdir -p /run/ferry-no-node/0');
    expect(lines.slice(mkdirAt, mkdirAt + 4)).toEqual([
      'mkdir -p /run/ferry-no-node/0',
      "mknod '/run/ferry-no-node/0/node' c 0 0",
      "mknod '/run/ferry-no-node/0/nodejs' c 0 0",
      "mount -t overlay ferry-no-node -o 'ro,lowerdir=/run/ferry-no-node/0:/usr/bin' '/usr/bin'",
    ]);
    expect(script).not.toMatch(/mount --bind \/dev\/null/);
  });

  it('is a script sh can parse', async () => {
    const r = await run(['sh', '-n', '-c', script]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('joins the host cgroups, the required ones strictly, then execs unshare', () => {
    const text = enterScript(
      [
        { procs: '/sys/fs/cgroup/unified/ferry-host-a/cgroup.procs', required: true },
        { procs: '/sys/fs/cgroup/pids/ferry-host-a/cgroup.procs', required: false },
      ],
      '/b/h/init.sh',
    );
    expect(text.split('\n').slice(2)).toEqual([
      'set -eu',
      "echo $$ > '/sys/fs/cgroup/unified/ferry-host-a/cgroup.procs'",
      "{ echo $$ > '/sys/fs/cgroup/pids/ferry-host-a/cgroup.procs'; } 2>/dev/null || true",
      "exec 'unshare' '--pid' '--kill-child' '--mount' '--mount-proc' '--cgroup' '--uts' '--ipc' '--' 'setpriv' '--bounding-set' '-sys_time,-sys_module' '--' '/bin/sh' '/b/h/init.sh'",
      '',
    ]);
    expect(unshareArgv('/i.sh').slice(-2)).toEqual(['/bin/sh', '/i.sh']);
  });

  it('enters every namespace but the network', () => {
    expect(nsenterArgv(42, ['systemctl', 'is-system-running'])).toEqual([
      'nsenter',
      '--target',
      '42',
      '--mount',
      '--pid',
      '--uts',
      '--ipc',
      '--wd=/',
      '--',
      'systemctl',
      'is-system-running',
    ]);
  });

  it('writes an sshd unit that restarts and is wanted by multi-user.target', () => {
    const unit = sshdUnit({
      configPath: '/b/h/ssh/sshd_config',
      address: '127.0.0.40',
      port: 2222,
      user: 'd',
    });
    expect(unit.split('\n')).toEqual(
      expect.arrayContaining([
        'Description=Ferry test sshd on 127.0.0.40:2222 for d',
        'ExecStart=/usr/sbin/sshd -D -e -f /b/h/ssh/sshd_config',
        'RuntimeDirectory=sshd',
        'Restart=on-failure',
        'WantedBy=multi-user.target',
      ]),
    );
  });

  it('masks the static list and whatever the machine enables, but never what the host needs', async () => {
    const etc = await mkdtemp(join(tmpdir(), 'ferry-units-'));
    try {
      await mkdir(join(etc, 'multi-user.target.wants'));
      await mkdir(join(etc, 'timers.target.wants'));
      await symlink('/lib/systemd/system/cron.service', join(etc, 'multi-user.target.wants/cron.service'));
      await symlink('/lib/systemd/system/dbus.service', join(etc, 'multi-user.target.wants/dbus.service'));
      await symlink('/lib/systemd/system/foo.timer', join(etc, 'timers.target.wants/foo.timer'));
      await symlink('/lib/systemd/system/ssh.service', join(etc, 'sshd.service'));
      await symlink('/dev/null', join(etc, 'already-masked.service'));
      await writeFile(join(etc, 'README'), '');
      const enabled = machineEnabledUnits(etc);
      expect(enabled).toEqual(['cron.service', 'dbus.service', 'foo.timer', 'sshd.service']);
      const masks = masksFor([...enabled, 'bad name;rm -rf /.service']);
      expect(masks).toContain('foo.timer');
      expect(masks).toContain('systemd-tmpfiles-setup.service');
      expect(masks).toContain('getty@.service');
      expect(masks).not.toContain('dbus.service');
      expect(masks).not.toContain(SSHD_UNIT);
      expect(masks.some((m) => m.includes(' '))).toBe(false);
      expect(new Set(masks).size).toBe(masks.length);
      expect(STATIC_MASKS).toEqual(
        expect.arrayContaining(['systemd-tmpfiles-clean.timer', 'e2scrub_reap.service']),
      );
    } finally {
      await rm(etc, { recursive: true, force: true });
    }
  });

  it('flags vendor units that started unasked, but not the test’s own', () => {
    const shown = parseShow(
      [
        'Id=dbus.service\nFragmentPath=/lib/systemd/system/dbus.service',
        'Id=cron.service\nFragmentPath=/lib/systemd/system/cron.service',
        'Id=ferry-storage.service\nFragmentPath=/etc/systemd/system/ferry-storage.service',
        'Id=run-u3.service\nFragmentPath=/run/systemd/transient/run-u3.service',
        'Id=user@1002.service\nFragmentPath=/lib/systemd/system/user@.service',
      ].join('\n\n'),
    );
    expect(shown).toHaveLength(5);
    expect(unexpectedUnits(shown)).toEqual(['cron.service (/lib/systemd/system/cron.service)']);
  });

  it('finds its own cgroup in every hierarchy but cpuset, v1 hybrid and pure v2', () => {
    const hybrid = [
      '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset',
      '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
      '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ].join('\n');
    const self = ['9:name=systemd:/', '5:cpuset:/', '4:memory:/api/x', '2:cpuacct,cpu:/', '0::/'].join('\n');
    expect(hierarchies(hybrid, self)).toEqual([
      { ownDir: '/sys/fs/cgroup/memory/api/x', required: false },
      { ownDir: '/sys/fs/cgroup/cpu,cpuacct', required: false },
      { ownDir: '/sys/fs/cgroup/systemd', required: true },
      { ownDir: '/sys/fs/cgroup/unified', required: true },
    ]);
    const v2 = '30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate';
    expect(hierarchies(v2, '0::/user.slice/session-1.scope\n')).toEqual([
      { ownDir: '/sys/fs/cgroup/user.slice/session-1.scope', required: true },
    ]);
    // A container that sees only its own sub-tree mounted.
    const nested = '30 23 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw';
    expect(hierarchies(nested, '0::/docker/abc/init\n')).toEqual([
      { ownDir: '/sys/fs/cgroup/init', required: true },
    ]);
  });

  it('moves sshd to a fresh port when another process took it, only where it may', async () => {
    const refused = {
      code: 255,
      stdout: '',
      stderr: 'ssh: connect to host 127.0.0.40 port 2222: Connection refused',
    };
    let moves = 0;
    const probe = {
      describe: () => 'ferrydeploy@127.0.0.40:2222 (t)',
      login: async () => (moves > 0 ? { code: 0, stdout: '', stderr: '' } : refused),
      listening: async () => false,
      journal: async () => 'Bind to port 2222 on 127.0.0.40 failed: Address already in use.',
      movePort: async () => {
        moves += 1;
      },
    };
    await waitForLogin(probe, 5000);
    expect(moves).toBe(1);
    // After the first boot the port is in the caller's config: a clear error instead of a move.
    moves = 0;
    await expect(waitForLogin({ ...probe, movePort: undefined }, 5000)).rejects.toThrow(
      /127\.0\.0\.40:2222 \(t\): the port is taken/,
    );
    // A refused key will not get better by waiting.
    const denied = {
      code: 255,
      stdout: '',
      stderr: 'ferrydeploy@127.0.0.40: Permission denied (publickey).',
    };
    await expect(waitForLogin({ ...probe, login: async () => denied }, 60_000)).rejects.toThrow(
      /failed: ferrydeploy@127\.0\.0\.40: Permission denied .*sshd journal: Bind to port/s,
    );
  });

  it('refuses paths that are private inside the host and sudoers names sudo would skip', () => {
    expect(checkOnRealDisk('/var/lib/x/../y', 'deploy root')).toBe('/var/lib/y');
    expect(() => checkOnRealDisk('/tmp/x', 'deploy root')).toThrow(/under \/tmp, which is private inside/);
    expect(() => checkOnRealDisk('/var/tmp', 'base dir')).toThrow(/base dir \/var\/tmp is under \/var\/tmp/);
    expect(() => checkOnRealDisk('rel', 'deploy root')).toThrow(/not absolute/);
    expect(checkSudoersName('ferry-deploy_1')).toBe('ferry-deploy_1');
    expect(() => checkSudoersName('ferry.conf')).toThrow(/would be ignored by sudo/);
    expect(ownerPid('sdhost-4242-AbC123')).toBe(4242);
    expect(ownerPid('sdhost-4242-AbC123-b3')).toBe(4242);
    expect(ownerPid('orphans-AbC123')).toBeUndefined();
    expect(hostLayout('/b/h').root).toBe('/b/h/deploy');
  });
});

const requirements = [
  requireRoot('boots systemd in its own namespaces and creates the deploy user'),
  ...SYSTEMD_HOST_TOOLS.map(([path, pkg]) => requireTool(path, pkg)),
];

/** Clock ticks after the machine's boot at which a process started (/proc/PID/stat field 22). */
function startTime(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

const UNIT = 'ferry-selftest.service';
const FAILING = 'ferry-selftest-fails.service';
const MARKER = `ferry-selftest-${randomBytes(4).toString('hex')}`;
const SUDOERS = `ferrydeploy ALL=(root) NOPASSWD: /usr/bin/systemctl restart ${UNIT}\n`;

describeIf(requirements, 'a real systemd host (PID 1 of its own namespaces)', () => {
  let host: SystemdHost;
  // In the machine's real /tmp, which a boot without a private /tmp would empty.
  const sentinel = `/tmp/ferry-systemd-sentinel-${process.pid}`;

  beforeAll(async () => {
    await writeFile(sentinel, 'still here');
    host = await bootSystemdHost({ name: 'selftest', address: '127.0.0.40', sudoers: SUDOERS });
  });
  afterAll(async () => {
    await host?.stop();
    await rm(sentinel, { force: true });
  });

  const mainPid = async () =>
    Number((await host.systemctl('show', '-p', 'MainPID', '--value', UNIT)).stdout.trim());

  it('reaches running or degraded as PID 1 of namespaces of its own, with a private /tmp', async () => {
    const first = host.lastBoot!;
    expect(['running', 'degraded']).toContain(first.state);
    expect(first.pid).toBe(host.pid);
    expect(['running', 'degraded']).toContain((await host.systemctl('is-system-running')).stdout.trim());
    expect(await host.execOk(['cat', '/proc/1/comm'])).toBe('systemd\n');
    expect(readlinkSync(`/proc/${host.pid}/ns/pid`)).not.toBe(readlinkSync('/proc/self/ns/pid'));
    expect(readlinkSync(`/proc/${host.pid}/ns/mnt`)).not.toBe(readlinkSync('/proc/self/ns/mnt'));
    // The network is the machine's: sshd inside listens on the machine's loopback.
    expect(readlinkSync(`/proc/${host.pid}/ns/net`)).toBe(readlinkSync('/proc/self/ns/net'));
    expect(await readFile(sentinel, 'utf8')).toBe('still here');
    expect((await host.exec(['test', '-e', sentinel])).code).toBe(1);
    expect(await tcpAccepts(host.target.address, host.target.port)).toBe(true);
  });

  it('lets the deploy user in over SSH, key-only with a pinned host key, and that user finds no node', async () => {
    const t = host.target;
    expect(fingerprintOfPublicKey(t.hostPublicKey)).toBe(t.hostKeyFingerprint);
    expect(t.knownHostsLine).toBe(
      `[${t.address}]:${t.port} ${t.hostPublicKey.split(' ').slice(0, 2).join(' ')}`,
    );
    expect((await readFile(t.knownHostsPath, 'utf8')).trim()).toBe(t.knownHostsLine);

    const who = await host.ssh('id -un; id -u; pwd');
    expect(who.code, who.stderr).toBe(0);
    const [name, uid] = who.stdout.split('\n');
    expect(name).toBe('ferrydeploy');
    expect(Number(uid)).toBeGreaterThan(0);

    const node = await host.ssh('command -v node || command -v nodejs');
    expect(node.code).not.toBe(0);
    expect(node.stdout).toBe('');
    // …while the machine itself has node where the host would have looked.
    accessSync('/usr/bin/node', constants.X_OK);

    // Ferry's own pinning (the fingerprint releases.yaml carries) accepts the host…
    const pinned = await new NodeSSH().connect({
      host: t.address,
      port: t.port,
      username: t.user,
      privateKey: t.privateKey,
      hostVerifier: hostKeyVerifier(t.hostKeyFingerprint),
      readyTimeout: 10_000,
    });
    try {
      expect((await pinned.execCommand('id -un')).stdout).toBe('ferrydeploy');
    } finally {
      pinned.dispose();
    }
    // …and refuses it under another fingerprint; root may not log in at all.
    await expect(
      new NodeSSH().connect({
        host: t.address,
        port: t.port,
        username: t.user,
        privateKey: t.privateKey,
        hostVerifier: hostKeyVerifier('SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'),
        readyTimeout: 10_000,
      }),
    ).rejects.toThrow(/Host denied/);
    await expect(
      new NodeSSH().connect({
        host: t.address,
        port: t.port,
        username: 'root',
        privateKey: t.privateKey,
        hostVerifier: hostKeyVerifier(t.hostKeyFingerprint),
        readyTimeout: 10_000,
      }),
    ).rejects.toThrow(/authentication methods failed/);
  });

  it('describes itself as releases.yaml hosts that Ferry’s config loader accepts', () => {
    const t = host.target;
    const config = parseConfig(
      `app:
  name: storage
  entry: app/server.ts
registry:
  type: local
environments:
  sd:
    transport: ssh
    user: ${t.user}
    path: ${t.root}
    service:
      mode: systemd
${systemdHostsYaml([t], [3000])}`,
      join(tmpdir(), 'releases.yaml'),
    );
    const env = config.environments['sd']!;
    expect(env.user).toBe('ferrydeploy');
    expect(env.hosts).toEqual([
      {
        name: 'selftest',
        address: '127.0.0.40',
        port: t.port,
        appPort: 3000,
        path: t.root,
        hostKey: t.hostKeyFingerprint,
      },
    ]);
  });

  it('runs a unit whose output journalctl -u shows, and keeps its unit file out of the machine’s /etc', async () => {
    const unit = [
      '[Unit]',
      'Description=Ferry systemd host self-test',
      '[Service]',
      'User=ferrydeploy',
      `ExecStart=/bin/sh -c 'echo ${MARKER}; exec sleep infinity'`,
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n');
    await host.execOk(['sh', '-c', `cat > /etc/systemd/system/${UNIT}`], { input: unit });
    await host.execOk(['systemctl', 'daemon-reload']);
    await host.execOk(['systemctl', 'enable', '--now', UNIT]);
    expect((await host.systemctl('is-active', UNIT)).stdout.trim()).toBe('active');

    let logged = '';
    for (let i = 0; i < 100 && !logged.includes(MARKER); i++) {
      logged = (await host.journalctl('-u', UNIT, '-o', 'cat')).stdout;
      if (!logged.includes(MARKER)) await sleep(100);
    }
    expect(logged.split('\n')).toContain(MARKER);

    expect(existsSync(`/etc/systemd/system/${UNIT}`)).toBe(false);
    expect(existsSync(`/etc/systemd/system/multi-user.target.wants/${UNIT}`)).toBe(false);
    expect(await readFile(join(host.layout.private.etcSystemd, UNIT), 'utf8')).toBe(unit);
    expect(
      lstatSync(join(host.layout.private.etcSystemd, 'multi-user.target.wants', UNIT)).isSymbolicLink(),
    ).toBe(true);
  });

  it('sudo: the deploy user runs the allowed command and is refused another, which does nothing', async () => {
    const before = await mainPid();
    expect(before).toBeGreaterThan(0);
    const allowed = await host.ssh(`sudo -n systemctl restart ${UNIT}`);
    expect(allowed.code, allowed.stderr).toBe(0);
    const restarted = await mainPid();
    expect(restarted).toBeGreaterThan(0);
    expect(restarted).not.toBe(before);

    const refused = await host.ssh(`sudo -n systemctl stop ${UNIT}`);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/password is required|not allowed/);
    expect((await host.systemctl('is-active', UNIT)).stdout.trim()).toBe('active');
    expect(await mainPid()).toBe(restarted);
    // The rule lives in the host's private sudoers.d, not the machine's.
    expect(existsSync('/etc/sudoers.d/ferry')).toBe(false);
  });

  it('refuses invalid sudoers text with visudo’s message and installs nothing', async () => {
    await expect(
      host.installSudoers('ferrydeploy ALL=(root) NOPASSWD /usr/bin/true\n', 'broken'),
    ).rejects.toThrow(/sudoers text for broken is invalid: .*syntax error/s);
    expect(existsSync(join(host.layout.private.sudoersD, 'broken'))).toBe(false);
    expect((await host.exec(['visudo', '-c'])).code).toBe(0);
  });

  it('after poweroff and boot: enabled units are back, failed ones reported, the deploy root and rules kept', async () => {
    const oldNamespace = host.pidNamespace!;
    const oldStart = startTime(host.pid!);
    expect((await host.ssh(`echo kept > ${host.root}/file`)).code).toBe(0);
    await host.execOk(['sh', '-c', `cat > /etc/systemd/system/${FAILING}`], {
      input: `[Service]\nType=oneshot\nExecStart=/bin/false\n[Install]\nWantedBy=multi-user.target\n`,
    });
    await host.execOk(['systemctl', 'enable', FAILING]);

    await host.poweroff();
    expect(host.booted).toBe(false);
    expect(processesInNamespace(oldNamespace)).toEqual([]);
    expect(await readFile(sentinel, 'utf8')).toBe('still here');

    const report = await host.boot();
    // Namespace inode numbers are reused; a PID 1 started later is the proof of a new boot.
    expect(startTime(host.pid!)).toBeGreaterThan(oldStart);
    expect(report.state).toBe('degraded');
    expect(report.failedUnits).toEqual([FAILING]);
    expect((await host.systemctl('is-active', UNIT)).stdout.trim()).toBe('active');
    expect((await host.systemctl('is-active', SSHD_UNIT)).stdout.trim()).toBe('active');
    const again = await host.ssh(`cat ${host.root}/file && sudo -n systemctl restart ${UNIT}`);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('kept\n');
    expect(await readFile(sentinel, 'utf8')).toBe('still here');
  });

  it('stop() leaves no process, cgroup or directory of the host behind', async () => {
    const { pid, pidNamespace, layout } = host;
    const cgroups = [...host.cgroupDirs];
    expect(processesInNamespace(pidNamespace!).length).toBeGreaterThan(3);
    expect(cgroups.length).toBeGreaterThan(0);
    await host.stop();
    expect(isAlive(pid!)).toBe(false);
    expect(processesInNamespace(pidNamespace!)).toEqual([]);
    for (const dir of cgroups) expect(existsSync(dir), dir).toBe(false);
    expect(existsSync(layout.dir)).toBe(false);
    expect(await tcpAccepts(host.target.address, host.target.port)).toBe(false);
    expect(await readFile(sentinel, 'utf8')).toBe('still here');
    await host.stop();
  });
});

describeIf(requirements, 'a systemd host left behind by a dying process', () => {
  const hostModule = fileURLToPath(new URL('./systemd-host.ts', import.meta.url));
  let scratch: string;
  beforeAll(async () => {
    await mkdir(DEFAULT_BASE_DIR, { recursive: true });
    scratch = await mkdtemp(join(DEFAULT_BASE_DIR, 'orphans-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('is killed with its owner, and the next boot clears what it left', async () => {
    const script = join(scratch, 'child.mts');
    await writeFile(
      script,
      `import { bootSystemdHost } from ${JSON.stringify(hostModule)};
const h = await bootSystemdHost({ name: 'orphan', address: '127.0.0.43', baseDir: ${JSON.stringify(scratch)} });
console.log(JSON.stringify({ pid: h.pid, ns: h.pidNamespace, dir: h.layout.dir, cgroups: h.cgroupDirs }));
await new Promise(() => setInterval(() => {}, 1e6));
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const info = await new Promise<{ pid: number; ns: string; dir: string; cgroups: string[] }>(
      (resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d;
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) resolve(JSON.parse(line));
        });
        child.on('exit', (code) => reject(new Error(`child exited ${code} before reporting: ${out}`)));
      },
    );
    expect(isAlive(info.pid)).toBe(true);
    child.kill('SIGKILL');
    for (let i = 0; i < 200 && processesInNamespace(info.ns).length > 0; i++) await sleep(50);
    expect(processesInNamespace(info.ns)).toEqual([]);
    expect(isAlive(info.pid)).toBe(false);
    // Its dir and empty cgroups stay until a boot (or this) sweeps hosts whose owner is dead.
    expect(existsSync(info.dir)).toBe(true);
    await removeStaleHosts(scratch);
    expect(existsSync(info.dir)).toBe(false);
    for (const dir of info.cgroups) expect(existsSync(dir), dir).toBe(false);
  });
});
