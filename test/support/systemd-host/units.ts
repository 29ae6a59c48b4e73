// Which units the test host may run. The host shares the machine's root file system, kernel and
// network, so every unit that would touch them is masked, and boot() checks afterwards that nothing
// else from the vendor directories came up.
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SSHD_UNIT } from './commands';

/** Units Debian 12 starts at boot (static or preset-enabled) that write outside the host's private dirs. */
export const STATIC_MASKS = [
  // tmpfiles: cleans /tmp and /var/tmp and creates /dev nodes and /var dirs, on the machine's disk.
  'systemd-tmpfiles-setup.service',
  'systemd-tmpfiles-setup-dev.service',
  'systemd-tmpfiles-clean.service',
  'systemd-tmpfiles-clean.timer',
  // The kernel: sysctls (fs.protected_* are machine-wide), modules, binfmt, device nodes.
  'systemd-sysctl.service',
  'systemd-modules-load.service',
  'kmod-static-nodes.service',
  'modprobe@.service',
  'systemd-binfmt.service',
  'proc-sys-fs-binfmt_misc.automount',
  'proc-sys-fs-binfmt_misc.mount',
  'sys-kernel-config.mount',
  'sys-kernel-debug.mount',
  'sys-kernel-tracing.mount',
  'sys-fs-fuse-connections.mount',
  'dev-hugepages.mount',
  'dev-mqueue.mount',
  'systemd-udevd.service',
  'systemd-udevd-control.socket',
  'systemd-udevd-kernel.socket',
  'systemd-udev-trigger.service',
  'systemd-udev-settle.service',
  'systemd-hwdb-update.service',
  'systemd-journald-audit.socket',
  'systemd-pstore.service',
  'systemd-timesyncd.service',
  // The machine's /etc, /var and root mount: users, machine id, random seed, ldconfig, utmp/wtmp.
  'systemd-remount-fs.service',
  'systemd-sysusers.service',
  'systemd-firstboot.service',
  'systemd-machine-id-commit.service',
  'systemd-random-seed.service',
  'systemd-update-done.service',
  'ldconfig.service',
  'systemd-journal-catalog-update.service',
  'systemd-journal-flush.service',
  'systemd-update-utmp.service',
  'systemd-update-utmp-runlevel.service',
  'systemd-repart.service',
  'systemd-pcrphase.service',
  'systemd-pcrphase-sysinit.service',
  // Terminals and wall messages.
  'getty.target',
  'getty-static.service',
  'getty@.service',
  'serial-getty@.service',
  'console-getty.service',
  'container-getty@.service',
  'systemd-ask-password-wall.path',
  'systemd-ask-password-console.path',
  // Services the image enables: the machine's own sshd and database, and disk and apt maintenance.
  'ssh.service',
  'sshd.service',
  'ssh.socket',
  'postgresql.service',
  'postgresql@.service',
  'e2scrub_reap.service',
  'e2scrub_all.timer',
  'fstrim.timer',
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.timer',
  'man-db.timer',
  'logrotate.timer',
  'cron.service',
  'rsyslog.service',
];

/** What a booted host is expected to run from the vendor unit directories; everything else is masked. */
export const EXPECTED_VENDOR_UNITS = new Set([
  'systemd-journald.service',
  'systemd-journald.socket',
  'systemd-journald-dev-log.socket',
  'systemd-initctl.socket',
  'dbus.service',
  'dbus.socket',
  'systemd-logind.service',
  'systemd-user-sessions.service',
]);

/** Never masked, even where the machine enables them: the host needs them. */
const KEEP = new Set([...EXPECTED_VENDOR_UNITS, 'user@.service', 'user-runtime-dir@.service', SSHD_UNIT]);

const UNIT_NAME = /^[A-Za-z0-9:_.@\\-]+\.(service|socket|timer|path|mount|automount|target|swap|slice)$/;

/**
 * Units the machine itself enables (links in /etc/systemd/system/*.wants, *.requires and aliases there):
 * whatever the image is, the host does not start the machine's services.
 */
export function machineEnabledUnits(etcSystemd = '/etc/systemd/system'): string[] {
  const found = new Set<string>();
  const entries = (dir: string) => {
    try {
      return readdirSync(dir, { withFileTypes: true });
    } catch {
      return [];
    }
  };
  for (const e of entries(etcSystemd)) {
    if (e.isSymbolicLink() && UNIT_NAME.test(e.name)) {
      // A link to /dev/null is already a mask; a link to a unit file is an alias or an enabled unit.
      const target = readlinkSync(join(etcSystemd, e.name));
      if (target !== '/dev/null') found.add(e.name);
    } else if (e.isDirectory() && /\.(wants|requires)$/.test(e.name)) {
      for (const w of entries(join(etcSystemd, e.name))) if (UNIT_NAME.test(w.name)) found.add(w.name);
    }
  }
  return [...found].sort();
}

/** The masks for one boot: the static list plus what the machine enables, minus what the host needs. */
export function masksFor(machineEnabled: readonly string[]): string[] {
  const all = new Set([...STATIC_MASKS, ...machineEnabled.filter((u) => UNIT_NAME.test(u))]);
  return [...all].filter((u) => !KEEP.has(u)).sort();
}

export interface RunningUnit {
  id: string;
  fragmentPath: string;
}

/**
 * Units that came up although nobody asked for them: not expected, and not installed by the test itself
 * (the host's private /etc/systemd/system) or started transiently.
 */
export function unexpectedUnits(running: readonly RunningUnit[]): string[] {
  return running
    .filter(
      (u) =>
        !EXPECTED_VENDOR_UNITS.has(u.id) &&
        !u.fragmentPath.startsWith('/etc/systemd/system/') &&
        !u.fragmentPath.startsWith('/run/systemd/transient/') &&
        // user@UID.service and friends only start for PAM sessions, which this sshd does not open.
        !/^(user@|user-runtime-dir@)\d+\.service$/.test(u.id),
    )
    .map((u) => `${u.id} (${u.fragmentPath || 'no unit file'})`);
}

/** Parses `systemctl show -p Id -p FragmentPath UNIT…`: blank-line separated blocks. */
export function parseShow(output: string): RunningUnit[] {
  return output
    .split(/\n\s*\n/)
    .map((block) => {
      const props = new Map(
        block
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
      );
      return { id: props.get('Id') ?? '', fragmentPath: props.get('FragmentPath') ?? '' };
    })
    .filter((u) => u.id !== '');
}

type Systemctl = (...args: string[]) => Promise<{ stdout: string }>;

/** Units `systemctl --failed` lists. */
export async function failedUnits(systemctl: Systemctl): Promise<string[]> {
  const r = await systemctl('--failed', '--plain', '--no-legend');
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((u) => u !== '');
}

/** Units up right now that the host did not expect (see unexpectedUnits), as `id (fragment path)`. */
export async function runningUnexpected(systemctl: Systemctl): Promise<string[]> {
  const list = await systemctl(
    'list-units',
    '--all',
    '--plain',
    '--no-legend',
    '--type=service,socket,timer,path,automount',
    '--state=active,activating,reloading,deactivating,failed',
  );
  const ids = list.stdout
    .split('\n')
    // A failed unit's line may start with a status bullet.
    .map((l) => l.replace(/^[^\w]+/, '').split(/\s+/)[0] ?? '')
    .filter((u) => u !== '');
  if (ids.length === 0) return [];
  const show = await systemctl('show', '-p', 'Id', '-p', 'FragmentPath', ...ids);
  return unexpectedUnits(parseShow(show.stdout));
}
