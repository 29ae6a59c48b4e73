// Pure builders for the systemd test host: the two boot scripts, the sshd unit, the journald drop-in and
// the argv arrays that reach into the namespaces. Nothing here touches the system.
import { posix } from 'node:path';

export const SYSTEMD_PATH = '/lib/systemd/systemd';
export const SSHD_UNIT = 'ferry-test-sshd.service';
/** Where the sshd unit keeps its pid file: the host's private /run, gone at every poweroff. */
export const SSHD_PID_FILE = '/run/ferry-test-sshd.pid';

/** Single-quotes one word for sh. The scripts carry paths and unit names, never user text. */
export function sq(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Per-host directories on the machine's disk, bind-mounted over their namesakes inside the host. */
export interface PrivateDirs {
  etcSystemd: string;
  sudoersD: string;
  varLibSystemd: string;
  varTmp: string;
}

export interface InitScriptInput {
  dirs: PrivateDirs;
  /** Unit names masked for this boot (see units.ts). */
  masks: readonly string[];
  /** Where the machine has node: each directory is overlaid with whiteouts for those names. */
  hideNode: readonly HiddenFiles[];
  journaldConf: string;
}

// Generators turn /etc/fstab, /etc/init.d scripts (procps applies sysctls, hwclock.sh sets the clock),
// rc.local and getty configuration into units; the test host needs none of them.
export const GENERATOR_DIRS = [
  '/usr/lib/systemd/system-generators',
  '/lib/systemd/system-generators',
  '/usr/local/lib/systemd/system-generators',
  '/etc/systemd/system-generators',
];

/** Every directory on a login's, sudo's or a unit's PATH: node must be found in none of them. */
export const NODE_PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
export const NODE_NAMES = ['node', 'nodejs'];

/** A directory (by its real path) and the node binaries in it that the host must not see. */
export interface HiddenFiles {
  dir: string;
  names: string[];
}

export function journaldDropIn(): string {
  return [
    '# Ferry test host: the journal lives in the private /run and dies with the host,',
    "# instead of landing in the machine's /var/log/journal. Nothing is forwarded to the machine.",
    '[Journal]',
    'Storage=volatile',
    'ForwardToSyslog=no',
    'ForwardToKMsg=no',
    'ForwardToConsole=no',
    'ForwardToWall=no',
    '',
  ].join('\n');
}

/**
 * The script that runs as PID 1 of the new PID and mount namespaces and becomes systemd. The mount
 * namespace shares the machine's root file system, so everything systemd would write outside the
 * per-host directories is either mounted over (tmpfs, read-only binds) or its unit is masked.
 */
export function initScript(i: InitScriptInput): string {
  const { dirs } = i;
  const words = (list: readonly string[]) => list.map(sq).join(' ');
  return `#!/bin/sh
# Ferry test host: PID 1 of its own PID, mount, UTS and IPC namespaces (see enter.sh). Generated.
set -eu
mount --make-rprivate /
# systemd raises fs.file-max and net.unix.max_dgram_qlen at start: machine-wide settings, kept read-only.
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
if [ -e /proc/sysrq-trigger ]; then
  mount --bind /proc/sysrq-trigger /proc/sysrq-trigger
  mount -o remount,bind,ro /proc/sysrq-trigger
fi
# systemd mounts its own cgroup view (this is a cgroup namespace) on a read-only /sys, as in a container.
if mountpoint -q /sys/fs/cgroup; then umount -R /sys/fs/cgroup; fi
mount --bind /sys /sys
mount -o remount,bind,ro /sys
# A private /dev: journald's /dev/log, /dev/initctl and mount points would otherwise land in the
# machine's devtmpfs, and wall messages would reach its terminals.
mount -t tmpfs -o mode=755,nosuid tmpfs /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/full c 1 7
mknod -m 666 /dev/random c 1 8
mknod -m 666 /dev/urandom c 1 9
mknod -m 666 /dev/tty c 5 0
mkdir /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s fd/0 /dev/stdin
ln -s fd/1 /dev/stdout
ln -s fd/2 /dev/stderr
# WARNING: without a private /tmp, this boot's tmpfiles run EMPTIES THE MACHINE'S REAL /tmp.
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
# Per-host directories on real disk: they survive a poweroff, and nothing written there reaches the machine.
mount --bind ${sq(dirs.varTmp)} /var/tmp
mount --bind ${sq(dirs.etcSystemd)} /etc/systemd/system
mount --bind ${sq(dirs.sudoersD)} /etc/sudoers.d
mount --bind ${sq(dirs.varLibSystemd)} /var/lib/systemd
for d in ${words(GENERATOR_DIRS)}; do
  if [ -d "$d" ]; then mount -t tmpfs -o ro,mode=755 tmpfs "$d"; fi
done
# system.control outranks /etc/systemd/system, so a mask wins even over a unit file copied from the machine.
mkdir -p /run/systemd/system.control /run/systemd/journald.conf.d
for u in ${words(i.masks)}; do
  ln -s /dev/null "/run/systemd/system.control/$u"
done
cat > /run/systemd/journald.conf.d/ferry-test-host.conf <<'FERRY_EOF'
${i.journaldConf.trimEnd()}
FERRY_EOF
# A host without Node: the machine's node stays, but in this namespace its directories are read-only
# overlays in which node is a whiteout, so it does not exist at all (a /dev/null bind would still be
# found by bash's \`command -v\`).
${hideNodeLines(i.hideNode)}
# env -i: the test process's environment (and any secret in it) stays out of the host.
exec env -i container=docker PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
  ${SYSTEMD_PATH} --system --unit=multi-user.target
`;
}

function hideNodeLines(list: readonly HiddenFiles[]): string {
  return list
    .flatMap((h, i) => {
      const layer = `/run/ferry-no-node/${i}`;
      return [
        `mkdir -p ${layer}`,
        // A character device 0:0 in an upper layer is overlayfs's whiteout: the name is gone below it.
        ...h.names.map((n) => `mknod ${sq(posix.join(layer, n))} c 0 0`),
        `mount -t overlay ferry-no-node -o ${sq(`ro,lowerdir=${layer}:${h.dir}`)} ${sq(h.dir)}`,
      ];
    })
    .join('\n');
}

export interface CgroupJoin {
  /** A `cgroup.procs` file of this host's own cgroup in one hierarchy. */
  procs: string;
  /** The hierarchies systemd tracks processes in must be joined; the controllers are best effort. */
  required: boolean;
}

/** argv of unshare that makes the new namespaces; setpriv keeps the clock and kernel modules out of reach. */
export function unshareArgv(initScriptPath: string): string[] {
  return [
    'unshare',
    '--pid',
    // The namespace's PID 1 gets SIGKILL when unshare dies, e.g. killed by the orphan watchdog.
    '--kill-child',
    '--mount',
    '--mount-proc',
    '--cgroup',
    '--uts',
    '--ipc',
    '--',
    'setpriv',
    '--bounding-set',
    '-sys_time,-sys_module',
    '--',
    '/bin/sh',
    initScriptPath,
  ];
}

/**
 * The script the daemon runs: it moves itself into the host's own cgroups, so that the cgroup namespace
 * unshare makes is rooted there and systemd's slices never mix with another host's, then execs unshare.
 */
export function enterScript(joins: readonly CgroupJoin[], initScriptPath: string): string {
  const lines = joins.map((j) =>
    j.required ? `echo $$ > ${sq(j.procs)}` : `{ echo $$ > ${sq(j.procs)}; } 2>/dev/null || true`,
  );
  return `#!/bin/sh
# Ferry test host: join this host's cgroups, then make its namespaces. Generated.
set -eu
${lines.join('\n')}
exec ${unshareArgv(initScriptPath).map(sq).join(' ')}
`;
}

/** Runs argv as root inside the host: its mount, PID, UTS and IPC namespaces (the network is shared). */
export function nsenterArgv(pid: number, argv: readonly string[]): string[] {
  return ['nsenter', '--target', String(pid), '--mount', '--pid', '--uts', '--ipc', '--wd=/', '--', ...argv];
}

export interface SshdUnitInput {
  configPath: string;
  address: string;
  port: number;
  user: string;
}

/** The deploy user's way in, enabled in the host's persistent /etc/systemd/system so it survives a reboot. */
export function sshdUnit(u: SshdUnitInput): string {
  return [
    '# Ferry test host: key-only SSH for the deploy user. Generated.',
    '[Unit]',
    `Description=Ferry test sshd on ${u.address}:${u.port} for ${u.user}`,
    'After=network.target',
    '',
    '[Service]',
    // -D: systemd supervises the listener itself; -e: its log goes to the journal.
    `ExecStart=/usr/sbin/sshd -D -e -f ${u.configPath}`,
    // The privilege-separation directory; tmpfiles, which would make it, is masked.
    'RuntimeDirectory=sshd',
    'RuntimeDirectoryMode=0755',
    'Restart=on-failure',
    'RestartSec=1',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** `visudo -cf FILE`: checks one sudoers file without installing it. */
export function visudoCheckArgv(path: string): string[] {
  // Not -q: that also silences the line and column of a syntax error.
  return ['visudo', '-c', '-f', path];
}

/** sudo skips files in sudoers.d whose name has a dot or ends in ~, silently: refuse those names. */
export function checkSudoersName(name: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new Error(
      `sudoers file name "${name}" would be ignored by sudo: use letters, digits, - and _ only`,
    );
  }
  return name;
}
