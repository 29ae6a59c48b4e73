// Pure builders: sshd configs, argv arrays and known_hosts lines. Nothing here touches the system.

export const SSHD_PATH = '/usr/sbin/sshd';

export interface SshdConfigInput {
  address: string;
  port: number;
  hostKeyPath: string;
  pidFile: string;
  authorizedKeysFile: string;
  user: string;
}

export function sshdConfig(c: SshdConfigInput): string {
  return [
    `ListenAddress ${c.address}:${c.port}`,
    `HostKey ${c.hostKeyPath}`,
    `PidFile ${c.pidFile}`,
    `AuthorizedKeysFile ${c.authorizedKeysFile}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    // Without PAM nobody else can vouch for the session; the account just must not be locked.
    'UsePAM no',
    // Keys and configs live in temp dirs that sshd would otherwise reject as too open.
    'StrictModes no',
    `AllowUsers ${c.user}`,
    'PermitRootLogin no',
    'LogLevel ERROR',
    // Parallel tests open many connections at once; the defaults (10:30:100, 10) drop some.
    'MaxStartups 100:30:200',
    'MaxSessions 50',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    // node-ssh uploads over SFTP; the in-process server needs no extra binary.
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

export function sshdArgv(configPath: string): string[] {
  // -D: stay in the foreground so the PID we hold is the listener; -e: log to stderr (our log file).
  return [SSHD_PATH, '-f', configPath, '-D', '-e'];
}

export function keygenArgv(keyPath: string, comment: string): string[] {
  return ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', keyPath];
}

export function fingerprintArgv(publicKeyPath: string): string[] {
  return ['ssh-keygen', '-l', '-E', 'sha256', '-f', publicKeyPath];
}

/** `ssh-keygen -lf` prints `256 SHA256:… comment (ED25519)`; the second field is the fingerprint. */
export function parseFingerprint(output: string): string {
  const fp = output.trim().split(/\s+/)[1];
  if (!fp?.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -l output: ${output.trim()}`);
  return fp;
}

/** ssh writes non-22 ports as `[addr]:port`; a plain address means port 22. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** `ssh-ed25519 AAAA… comment` → `[127.0.0.2]:2222 ssh-ed25519 AAAA…` (the comment is dropped). */
export function knownHostsLine(address: string, port: number, hostPublicKey: string): string {
  const [type, blob] = hostPublicKey.trim().split(/\s+/);
  if (!type || !blob) throw new Error(`not an ssh public key line: ${hostPublicKey}`);
  return `${knownHostsName(address, port)} ${type} ${blob}`;
}

export interface SshTarget {
  address: string;
  port: number;
  user: string;
  privateKeyPath: string;
  knownHostsPath: string;
}

/** An OpenSSH client command that trusts only the given known_hosts and key, ignoring ~/.ssh entirely. */
export function sshArgv(t: SshTarget, command?: string): string[] {
  const argv = [
    'ssh',
    '-F',
    '/dev/null',
    '-i',
    t.privateKeyPath,
    '-p',
    String(t.port),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${t.knownHostsPath}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'ConnectTimeout=5',
    '-o',
    'LogLevel=ERROR',
    `${t.user}@${t.address}`,
  ];
  if (command !== undefined) argv.push(command);
  return argv;
}

/** Quotes argv for display (the `npm run fleet` banner); never used to build what we execute. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function useraddArgv(user: string): string[] {
  return ['useradd', '--create-home', '--shell', '/bin/bash', user];
}
