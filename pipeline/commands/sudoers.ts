// The sudo rule a deploy user needs in systemd mode: install exactly Ferry's unit files from the staged
// copies setup writes, and daemon-reload / enable / reload / restart exactly those units. Nothing else:
// no shell, no other unit, no other destination. Printed by `ferry setup <env> --print-sudoers`.
import { posix } from 'node:path';
import { syncUnitNames, unitFileName, unitPath } from './systemd';

export const INSTALL_BIN = '/usr/bin/install';
export const SYSTEMCTL_BIN = '/usr/bin/systemctl';

export interface SudoersInput {
  user: string;
  /** The deploy root: setup stages unit files in <root>/.ferry/ before installing them. */
  root: string;
  unitName: string;
  /** Pull mode: the sync service and its timer too. */
  pull?: boolean;
}

/** sudo skips files in sudoers.d whose names contain a dot. */
export function sudoersFileName(unitName: string): string {
  return unitFileName(unitName)
    .replace(/\.service$/, '')
    .replace(/[^A-Za-z0-9_-]/g, '_');
}

/** The lines for /etc/sudoers.d/ferry-<unit> (check them with `visudo -cf FILE` before installing). */
export function sudoersRule(o: SudoersInput): string {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(o.user))
    throw new Error(`"${o.user}" is not a user name sudo can carry`);
  if (!/^\/[A-Za-z0-9_./@+-]*$/.test(o.root) || o.root.includes('..')) {
    throw new Error(`root "${o.root}" has characters a sudoers rule cannot carry safely`);
  }
  const service = unitFileName(o.unitName);
  const units = [service];
  if (o.pull) {
    const sync = syncUnitNames(o.unitName);
    units.push(sync.service, sync.timer);
  }
  const staged = (unit: string) => posix.join(o.root, '.ferry', unit);
  const alias = `FERRY_${service
    .replace(/\.service$/, '')
    .replace(/[^A-Za-z0-9]/g, '_')
    .toUpperCase()}`;
  const commands = [
    ...units.map((u) => `${INSTALL_BIN} -m 0644 ${staged(u)} ${unitPath(u)}`),
    `${SYSTEMCTL_BIN} daemon-reload`,
    `${SYSTEMCTL_BIN} enable --now ${o.pull ? syncUnitNames(o.unitName).timer : service}`,
    ...(o.pull ? [`${SYSTEMCTL_BIN} enable --now ${service}`] : []),
    `${SYSTEMCTL_BIN} reload ${service}`,
    `${SYSTEMCTL_BIN} restart ${service}`,
  ];
  return [
    `# Ferry: ${o.user} may install and control the ${service.replace(/\.service$/, '')} units, and nothing else.`,
    `# Install as /etc/sudoers.d/${sudoersFileName(o.unitName)} (mode 0440) after \`visudo -cf\`.`,
    `Cmnd_Alias ${alias} = \\`,
    // The commands are built from checked names and paths: no character needs sudoers escaping.
    ...commands.map((c, i) => `    ${c}${i < commands.length - 1 ? ', \\' : ''}`),
    `${o.user} ALL=(root) NOPASSWD: ${alias}`,
    '',
  ].join('\n');
}
