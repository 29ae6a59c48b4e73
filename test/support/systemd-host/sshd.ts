// sshd inside the host: a unit in the host's persistent /etc/systemd/system, enabled before the first
// boot, with the fleet's sshd config (key-only, one non-root user, a pinned host key).
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { knownHostsLine, sshdConfig } from '../fleet/commands';
import { FleetError } from '../fleet/errors';
import type { RunResult } from '../fleet/exec';
import { SSHD_PID_FILE, SSHD_UNIT, sshdUnit } from './commands';
import type { HostLayout } from './layout';

export interface SshdSpec {
  address: string;
  port: number;
  user: string;
  hostPublicKey: string;
}

export async function writeSshd(layout: HostLayout, s: SshdSpec): Promise<void> {
  const { ssh, private: dirs } = layout;
  await writeFile(
    ssh.config,
    sshdConfig({
      address: s.address,
      port: s.port,
      hostKeyPath: ssh.hostKey,
      pidFile: SSHD_PID_FILE,
      authorizedKeysFile: ssh.authorizedKeys,
      user: s.user,
    }),
  );
  await writeFile(
    join(dirs.etcSystemd, SSHD_UNIT),
    sshdUnit({ configPath: ssh.config, address: s.address, port: s.port, user: s.user }),
  );
  // What `systemctl enable` does, done before the first boot so sshd is there from the start.
  const wants = join(dirs.etcSystemd, 'multi-user.target.wants');
  await mkdir(wants, { recursive: true });
  await symlink(`/etc/systemd/system/${SSHD_UNIT}`, join(wants, SSHD_UNIT)).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    },
  );
  await writeFile(ssh.knownHosts, `${knownHostsLine(s.address, s.port, s.hostPublicKey)}\n`);
}

export interface LoginProbe {
  /** Where sshd should listen, for messages. */
  describe(): string;
  login(): Promise<RunResult>;
  listening(): Promise<boolean>;
  /** sshd's journal inside the host. */
  journal(): Promise<string>;
  /** Moves sshd to a fresh port; undefined where the port must not move (after the first boot). */
  movePort?: () => Promise<void>;
}

/**
 * Waits for a real login, which proves it is this host's sshd (the pinned key) and that the user and
 * client key work. Another process may take the port between our probe and sshd's bind: then sshd
 * moves, at most three times, where it may.
 */
export async function waitForLogin(probe: LoginProbe, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let moved = 0;
  while (Date.now() < deadline) {
    const r = await probe.login();
    if (r.code === 0) return;
    last = r.stderr.trim();
    if (/Permission denied|Host key verification failed/.test(last)) break;
    if (
      !(await probe.listening()) &&
      /Address already in use|Cannot bind any address/.test(await probe.journal())
    ) {
      if (!probe.movePort || moved >= 3) {
        throw new FleetError(
          `${probe.describe()}: the port is taken, sshd cannot listen`,
          'free the port, or boot a new host',
        );
      }
      moved += 1;
      await probe.movePort();
      continue;
    }
    await sleep(100);
  }
  const log = (await probe.journal()).trim().split('\n').slice(-30).join('\n');
  throw new FleetError(
    `ssh to ${probe.describe()} failed: ${last || 'timed out'}; sshd journal: ${log || '(empty)'}`,
    `see \`journalctl -u ${SSHD_UNIT}\` inside the host`,
  );
}
