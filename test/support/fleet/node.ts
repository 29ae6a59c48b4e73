import { realpathSync, statSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type SshTarget, sshArgv } from './commands';
import { FleetError } from './errors';
import { run } from './exec';

export interface NodeForUser {
  /** What `command -v node` says in the user's ssh session. */
  path: string;
  /** What that node's `--version` prints. */
  version: string;
  /** Set when the fleet had to link node into /usr/local/bin for the user. */
  linked?: string;
}

function othersCanRun(file: string): boolean {
  try {
    if ((statSync(file).mode & 0o001) === 0) return false;
    for (let d = dirname(file); ; d = dirname(d)) {
      if ((statSync(d).mode & 0o001) === 0) return false;
      if (d === '/') return true;
    }
  } catch {
    return false;
  }
}

async function probe(target: SshTarget): Promise<NodeForUser | undefined> {
  const r = await run(sshArgv(target, 'command -v node && node --version'));
  if (r.code === 255)
    throw new FleetError(
      `ssh to ${target.address}:${target.port} failed: ${r.stderr.trim()}`,
      'see the sshd log in the fleet dir',
    );
  const [path, version] = r.stdout.trim().split('\n');
  return r.code === 0 && path && version ? { path, version } : undefined;
}

/**
 * Later deploy tests run node on the hosts as the user. sshd gives it /usr/local/bin:/usr/bin:/bin, so a
 * node found only through our own PATH (nvm, a tool cache) gets linked into /usr/local/bin.
 */
export async function ensureNodeForUser(target: SshTarget): Promise<NodeForUser> {
  const found = await probe(target);
  if (found) return found;
  const exec = realpathSync(process.execPath);
  const remedy = `install node where ${target.user} can run it (e.g. /usr/bin/node or /usr/local/bin/node, mode 755)`;
  if (!othersCanRun(exec)) {
    throw new FleetError(
      `node is not on ${target.user}'s PATH and ${exec} is not reachable by other users`,
      remedy,
    );
  }
  const link = '/usr/local/bin/node';
  await symlink(exec, link).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const after = await probe(target);
  if (!after)
    throw new FleetError(`node is still not runnable by ${target.user} after linking ${link}`, remedy);
  return { ...after, linked: `${link} -> ${exec}` };
}
