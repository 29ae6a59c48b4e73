// Which processes on this machine run a given command: for tests that prove nothing was left running
// (an `agent logs --follow`, its journalctl) after the CLI was interrupted. The SSH fleet's and the
// systemd host's processes are this machine's too, so /proc sees them all.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  argv: string[];
}

/**
 * Live processes (zombies excluded) whose argv has every one of `args` as a whole argument, and every one
 * of `contains` inside some argument (a path under a host's root, say).
 */
export function processesWith(
  match: { args?: readonly string[]; contains?: readonly string[] },
  pids?: readonly number[],
): ProcessInfo[] {
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
    const whole = (match.args ?? []).every((n) => argv.includes(n));
    const inside = (match.contains ?? []).every((n) => argv.some((a) => a.includes(n)));
    if (whole && inside) found.push({ pid, argv });
  }
  return found;
}
