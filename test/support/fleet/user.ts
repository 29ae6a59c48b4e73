import { chown, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { useraddArgv } from './commands';
import { FleetError } from './errors';
import { run, runOk } from './exec';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

// Every ssh command runs through the user's rc; root's here costs ~0.7 s a command.
const QUIET_RC = '# Ferry test user: left empty so every ssh command starts fast.\n';

async function lookup(name: string): Promise<TestUser | undefined> {
  const r = await run(['getent', 'passwd', name]);
  if (r.code !== 0) return undefined;
  const [, , uid, gid, , home] = r.stdout.trim().split(':');
  return { name, uid: Number(uid), gid: Number(gid), home: home ?? `/home/${name}` };
}

async function create(name: string): Promise<void> {
  // Two vitest workers may race here: useradd exits 9 when the other one won, 10 while it holds the lock.
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = await run(useraddArgv(name));
    if (r.code === 0 || r.code === 9) return;
    if (r.code !== 10) {
      throw new FleetError(`useradd ${name} failed (${r.code}): ${r.stderr.trim()}`, 'run the tests as root');
    }
    await sleep(100 + Math.random() * 200);
  }
  throw new FleetError(`useradd ${name}: /etc/passwd stayed locked`, 'retry; check for a stuck useradd');
}

/** With UsePAM no, sshd refuses accounts whose password field starts with '!' (useradd's default). */
async function unlock(name: string): Promise<void> {
  const shadow = await readFile('/etc/shadow', 'utf8').catch(() => '');
  const entry = shadow.split('\n').find((l) => l.startsWith(`${name}:`));
  if (!entry?.split(':')[1]?.startsWith('!')) return;
  // '*' matches no password yet is not "locked": key login works, password login never can.
  await runOk(['usermod', '-p', '*', name]);
}

async function ensureBash(name: string): Promise<void> {
  const r = await runOk(['getent', 'passwd', name]);
  const shell = r.trim().split(':')[6] ?? '';
  if (shell !== '/bin/bash') await runOk(['usermod', '--shell', '/bin/bash', name]);
}

export async function ensureTestUser(name: string): Promise<TestUser> {
  if (process.getuid?.() !== 0) {
    throw new FleetError(
      'the SSH fleet needs root: it creates a user and runs sshd on 127.0.0.x',
      'run the tests as root (CI does), e.g. in the project container',
    );
  }
  if (name === 'root') throw new FleetError('the fleet user must not be root', 'pick a dedicated user name');
  if (!(await lookup(name))) await create(name);
  const user = await lookup(name);
  if (!user) throw new FleetError(`user ${name} is missing after useradd`, 'check /etc/passwd');
  if (user.uid === 0) throw new FleetError(`user ${name} has uid 0`, 'pick a non-root user');
  await unlock(name);
  await ensureBash(name);
  await runOk(['mkdir', '-p', user.home]);
  await chown(user.home, user.uid, user.gid);
  for (const f of ['.bashrc', '.profile']) {
    const path = `${user.home}/${f}`;
    await writeFile(path, QUIET_RC);
    await chown(path, user.uid, user.gid);
  }
  // Login shells prefer these over .profile.
  await rm(`${user.home}/.bash_profile`, { force: true });
  await rm(`${user.home}/.bash_login`, { force: true });
  return user;
}

/** sshd reads authorized_keys as the user, so every directory above it must let the user through. */
export async function assertUserCanRead(user: string, path: string): Promise<void> {
  const r = await run(['runuser', '-u', user, '--', 'test', '-r', path]).catch(() => undefined);
  // Without runuser we cannot tell; sshd's own error will have to do.
  if (r && r.code === 1) {
    throw new FleetError(
      `user ${user} cannot read ${path}`,
      'put the fleet under a directory every user can traverse (mode 755), e.g. /tmp',
    );
  }
}
