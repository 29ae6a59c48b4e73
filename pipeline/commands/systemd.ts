// The systemd unit that runs the supervisor, and the systemctl command lines around it. Pure text and
// argv: the CLI writes and runs them over SSH during setup.
import { posix } from 'node:path';
import { agentEntry } from './agent';

export interface SystemdUnitOptions {
  unitName: string;
  /** The deploy user: owns the root, runs the service, can SIGHUP it without sudo. */
  user: string;
  group?: string;
  root: string;
  nodePath: string;
  description?: string;
  /** Seconds systemd waits after SIGTERM before SIGKILL: the supervisor's drain time plus slack. */
  timeoutStopSec?: number;
  restartSec?: number;
  limitNoFile?: number;
}

// systemd expands % specifiers and $ variables and splits on whitespace; paths that need escaping are
// refused rather than escaped, since one wrong escape would run a different command as the service.
const SAFE_PATH = /^\/[A-Za-z0-9_./@+-]*$/;
const SAFE_NAME = /^[A-Za-z0-9_.@-]+$/;

function check(value: string, re: RegExp, what: string): string {
  if (!re.test(value) || value.includes('..'))
    throw new Error(`${what} "${value}" has characters a unit file cannot carry safely`);
  return value;
}

export function unitFileName(unitName: string): string {
  return /\.(service|timer)$/.test(unitName) ? unitName : `${unitName}.service`;
}

export function unitPath(unitName: string): string {
  return posix.join('/etc/systemd/system', unitFileName(unitName));
}

export function systemdUnit(o: SystemdUnitOptions): string {
  const root = check(posix.normalize(o.root).replace(/\/$/, ''), SAFE_PATH, 'root');
  const node = check(o.nodePath, SAFE_PATH, 'nodePath');
  const user = check(o.user, SAFE_NAME, 'user');
  const group = o.group ? check(o.group, SAFE_NAME, 'group') : undefined;
  const unit = check(o.unitName.replace(/\.service$/, ''), SAFE_NAME, 'unitName');
  const description = (o.description ?? `${unit} (Ferry supervisor)`).replace(/[\r\n%$\\]/g, ' ');
  const underHome = root === '/home' || root.startsWith('/home/');
  const lines = [
    '# Written by `ferry setup`; changes are overwritten on the next setup.',
    '[Unit]',
    `Description=${description}`,
    'After=network-online.target',
    'Wants=network-online.target',
    // A supervisor that cannot start at all (missing node, broken agent) stops retrying after 5 tries a minute.
    'StartLimitIntervalSec=60',
    'StartLimitBurst=5',
    '',
    '[Service]',
    // simple: the supervisor itself is the main process; readiness is the agent's health gate, not sd_notify.
    'Type=simple',
    `User=${user}`,
    ...(group ? [`Group=${group}`] : []),
    `WorkingDirectory=${root}`,
    // "-": a host without secrets yet still starts. The supervisor re-reads this file on every reload.
    `EnvironmentFile=-${root}/shared/.env`,
    `ExecStart=${node} ${agentEntry(root)} supervise --root ${root}`,
    // Same as `agent service reload`: the supervisor re-resolves `current` and replaces workers.
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=on-failure',
    `RestartSec=${o.restartSec ?? 2}`,
    'KillSignal=SIGTERM',
    // mixed: SIGTERM to the supervisor only, which drains its workers; SIGKILL for stragglers at the end.
    'KillMode=mixed',
    `TimeoutStopSec=${o.timeoutStopSec ?? 30}`,
    'StandardOutput=journal',
    'StandardError=journal',
    `SyslogIdentifier=${unit}`,
    `LimitNOFILE=${o.limitNoFile ?? 65536}`,
    ...hardening(root, underHome),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}

export type SystemctlAction =
  | 'daemon-reload'
  | 'enable'
  | 'disable'
  | 'start'
  | 'stop'
  | 'restart'
  | 'reload'
  | 'status'
  | 'is-active';

/** `sudo -n systemctl ...`: -n fails at once instead of hanging on a password prompt over SSH. */
export function systemctlArgv(
  action: SystemctlAction,
  unitName?: string,
  opts: { sudo?: boolean; now?: boolean } = {},
): string[] {
  const argv = opts.sudo === false ? ['systemctl'] : ['sudo', '-n', 'systemctl'];
  argv.push(action);
  if (action === 'enable' && opts.now) argv.push('--now');
  if (action === 'status') argv.push('--no-pager');
  if (action !== 'daemon-reload') {
    if (!unitName) throw new Error(`systemctl ${action} needs a unit name`);
    argv.push(unitFileName(check(unitName, SAFE_NAME, 'unitName')));
  }
  return argv;
}

export interface SyncTimerOptions {
  /** The service's unit name; the pair is named <unitName>-sync.{service,timer}. */
  unitName: string;
  user: string;
  group?: string;
  root: string;
  nodePath: string;
  /** Seconds between runs, counted from the end of the last one (OnUnitActiveSec=). */
  intervalSeconds: number;
  /** Random extra delay per run, so a fleet does not hit the registry in step (RandomizedDelaySec=). */
  jitterSeconds: number;
  /** Cap on one run: download, switch and health gate included (default 15 minutes). */
  timeoutSec?: number;
}

/** Pull mode's units: `<unit>-sync.service` (oneshot `agent sync`) and the `.timer` that starts it. */
export function syncUnitNames(unitName: string): { service: string; timer: string } {
  const base = `${check(unitName.replace(/\.service$/, ''), SAFE_NAME, 'unitName')}-sync`;
  return { service: `${base}.service`, timer: `${base}.timer` };
}

export function syncServiceUnit(o: SyncTimerOptions): string {
  const root = check(posix.normalize(o.root).replace(/\/$/, ''), SAFE_PATH, 'root');
  const node = check(o.nodePath, SAFE_PATH, 'nodePath');
  const user = check(o.user, SAFE_NAME, 'user');
  const group = o.group ? check(o.group, SAFE_NAME, 'group') : undefined;
  const names = syncUnitNames(o.unitName);
  const underHome = root === '/home' || root.startsWith('/home/');
  return [
    '# Written by `ferry setup --pull`; changes are overwritten on the next setup.',
    '[Unit]',
    `Description=${names.service.replace(/\.service$/, '')} (Ferry pull: converge to the channel)`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    // oneshot: the timer starts the next run only after this one ended, so runs never overlap.
    'Type=oneshot',
    `User=${user}`,
    ...(group ? [`Group=${group}`] : []),
    `WorkingDirectory=${root}`,
    `ExecStart=${node} ${agentEntry(root)} sync --root ${root}`,
    `TimeoutStartSec=${o.timeoutSec ?? 900}`,
    // The agent SIGHUPs the supervisor (its own unit) and never starts processes that outlive the run.
    'StandardOutput=journal',
    'StandardError=journal',
    `SyslogIdentifier=${names.service.replace(/\.service$/, '')}`,
    ...hardening(root, underHome),
    '',
  ].join('\n');
}

export function syncTimerUnit(o: SyncTimerOptions): string {
  const names = syncUnitNames(o.unitName);
  const seconds = (n: number, what: string) => {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what} must be a whole number of seconds`);
    return `${n}s`;
  };
  return [
    '# Written by `ferry setup --pull`; changes are overwritten on the next setup.',
    '[Unit]',
    `Description=Run ${names.service} every ${o.intervalSeconds}s`,
    '',
    '[Timer]',
    // The first run soon after boot, and one interval after setup starts the timer (without it a fresh
    // `setup --pull` would wait for the next boot's minute); then one interval after each run finished.
    'OnBootSec=1min',
    `OnActiveSec=${seconds(o.intervalSeconds, 'intervalSeconds')}`,
    `OnUnitActiveSec=${seconds(o.intervalSeconds, 'intervalSeconds')}`,
    `RandomizedDelaySec=${seconds(o.jitterSeconds, 'jitterSeconds')}`,
    // A run missed while the machine was off happens at the next boot instead of being skipped.
    'Persistent=true',
    'AccuracySec=1s',
    `Unit=${names.service}`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

/** The sandbox both units run in: only the deploy root is writable. */
function hardening(root: string, underHome: boolean): string[] {
  return [
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ReadWritePaths=${root}`,
    // The root under /home would vanish with ProtectHome=yes; read-only keeps it, and ReadWritePaths
    // above makes just the root writable again.
    `ProtectHome=${underHome ? 'read-only' : 'yes'}`,
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'LockPersonality=yes',
    // Must stay off: V8's JIT maps pages writable and executable, which this would forbid (node aborts).
    'MemoryDenyWriteExecute=no',
    'SystemCallArchitectures=native',
  ];
}
