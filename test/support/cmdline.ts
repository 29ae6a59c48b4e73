// Which processes on this machine run a given command: for tests that prove nothing was left running
// (an `agent logs --follow`, its journalctl) after the CLI was interrupted. The SSH fleet's and the
// systemd host's processes are this machine's too, so /proc sees them all.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  argv: string[];
}

/** Live processes whose argv contains every needle (each as a substring of some argument); zombies excluded. */
export function processesWith(needles: readonly string[], pids?: readonly number[]): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  const candidates =
    pids ??
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  for (const pid of candidates) {
    if (pid === process.pid) continue;
    let argv: string[];
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) continue;
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    if (needles.every((n) => argv.some((a) => a.includes(n)))) found.push({ pid, argv });
  }
  return found;
}
