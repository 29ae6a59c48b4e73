import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

// Process groups (each daemon is a group leader) still running; SIGKILLed if this process exits
// without stopping them, e.g. a test that throws before its afterAll.
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killQuiet(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) killQuiet(-pgid, 'SIGKILL');
  });
}

/**
 * A shell that SIGKILLs the group once its stdin reaches EOF, i.e. once this process is gone however
 * it died (the 'exit' hook does not run on SIGKILL or a vitest worker being torn down).
 */
function spawnWatchdog(pgid: number): ChildProcess {
  const dog = spawn(
    '/bin/sh',
    ['-c', 'cat >/dev/null; kill -s KILL -- "$@" 2>/dev/null', 'ferry-watchdog', `-${pgid}`],
    {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  dog.on('error', () => {});
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return dog;
}

/** Waits for p at most ms; the timer is cancelled so it cannot hold the process open afterwards. */
async function within(p: Promise<void>, ms: number): Promise<void> {
  const ac = new AbortController();
  try {
    await Promise.race([p, sleep(ms, undefined, { signal: ac.signal }).catch(() => {})]);
  } finally {
    ac.abort();
  }
}

export interface Daemon {
  pid: number;
  hasExited(): boolean;
  exitCode(): number | null;
  /** SIGTERM the group and the daemon's descendants, SIGKILL whatever is left after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts argv in its own process group with stdout/stderr appended to logPath. */
export async function spawnDaemon(argv: readonly string[], logPath: string): Promise<Daemon> {
  const [file, ...args] = argv;
  if (!file) throw new Error('spawnDaemon: empty argv');
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    // detached: its own group, so Ctrl-C at `npm run fleet` reaches only us and we stop it in order.
    child = spawn(file, args, { detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    const err = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw err;
  }
  child.unref();
  let exited = false;
  let code: number | null = null;
  const exitedP = new Promise<void>((resolve) =>
    child.once('exit', (c) => {
      exited = true;
      code = c;
      liveGroups.delete(pid);
      resolve();
    }),
  );
  installExitHook();
  liveGroups.add(pid);
  const dog = spawnWatchdog(pid);

  return {
    pid,
    hasExited: () => exited,
    exitCode: () => code,
    async stop(graceMs = 3000) {
      if (exited) {
        // Its PID and group may be someone else's by now: only the watchdog is still ours to end.
        if (dog.pid !== undefined) killQuiet(-dog.pid, 'SIGKILL');
        return;
      }
      const strays = descendantsOf(pid);
      killQuiet(-pid, 'SIGTERM');
      for (const p of strays) killQuiet(p, 'SIGTERM');
      await within(exitedP, graceMs);
      if (!exited) {
        killQuiet(-pid, 'SIGKILL');
        await exitedP;
      }
      await killAll(strays, graceMs);
      if (dog.pid !== undefined) killQuiet(-dog.pid, 'SIGKILL');
    },
  };
}

/** Alive means present and not a zombie: in containers PID 1 may never reap orphans. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state, ppid, …
    const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
    return ppid === undefined ? undefined : Number(ppid);
  } catch {
    return undefined;
  }
}

/** Session processes sshd forked per connection, and whatever those started. */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const ppid = parentOf(pid);
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Processes whose working directory is inside dir: services a test deployed and daemonised there. */
export function processesUnder(dir: string): number[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return allPids().filter((pid) => {
    if (pid === process.pid) return false;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      return cwd === dir || cwd.startsWith(prefix);
    } catch {
      return false;
    }
  });
}

/** SIGTERM, wait up to graceMs, SIGKILL the rest. For processes that are not our children. */
export async function killAll(pids: readonly number[], graceMs = 3000): Promise<void> {
  let left = pids.filter(isAlive);
  for (const p of left) killQuiet(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = left.filter(isAlive);
  }
  for (const p of left) killQuiet(p, 'SIGKILL');
}
