// What a systemd test host needs from the machine, with the Debian package that provides it.
import { accessSync, constants } from 'node:fs';
import { FleetError } from '../fleet/errors';
import { SYSTEMD_PATH } from './commands';

export const SYSTEMD_HOST_TOOLS: readonly (readonly [path: string, pkg: string])[] = [
  [SYSTEMD_PATH, 'systemd'],
  ['/usr/bin/unshare', 'util-linux'],
  ['/usr/bin/nsenter', 'util-linux'],
  ['/usr/bin/setpriv', 'util-linux'],
  ['/usr/sbin/sshd', 'openssh-server'],
  ['/usr/bin/ssh', 'openssh-client'],
  ['/usr/bin/ssh-keygen', 'openssh-client'],
  ['/usr/bin/sudo', 'sudo'],
  ['/usr/sbin/visudo', 'sudo'],
];

export function assertTools(): void {
  if (process.getuid?.() !== 0) {
    throw new FleetError(
      'a systemd test host needs root (namespaces, mounts, cgroups)',
      'run as root, as CI does',
    );
  }
  for (const [path, pkg] of SYSTEMD_HOST_TOOLS) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      throw new FleetError(`${path} is missing`, `apt-get install -y ${pkg}`);
    }
  }
}
