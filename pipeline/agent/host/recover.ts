// Reading a leftover journal: the previous run was killed mid-operation. Before the switch nothing the
// service sees had changed, so recovery only clears debris. From the switch until the health gate passed,
// `current` may point at an unverified release, so recovery undoes: back to the journal's `from`, reload,
// as the failed run would have done. A run killed while pruning had already committed: it is finished.

import type { AgentContext } from '../context';
import { sweepDebris } from '../install/prune';
import { clearCurrent, currentVersion, switchCurrent } from '../install/switch';
import type { ServiceConfig } from '../service/config';
import { serveCurrent } from '../service/control';
import { runningSupervisor } from '../service/supervisor-state';
import { clearJournal, type Journal, readJournal } from './journal';
import { processStartTicks } from './proc';
import { appendHistory, markBad, updateState } from './state';

export interface Recovery {
  journal: Journal;
  action: 'cleaned' | 'undone' | 'finished';
  note: string;
}

/** Call with the host lock held. Returns what was done, or null when there was no leftover journal. */
export async function recoverLeftover(ctx: AgentContext, config: ServiceConfig): Promise<Recovery | null> {
  const { paths, report } = ctx;
  const j = await readJournal(paths);
  if (!j) return null;
  report.step('recover', { version: j.version, from: j.from, leftoverStep: j.step, leftoverOp: j.op });
  let action: Recovery['action'];
  let note: string;
  const orphan = stopOrphanHook(j);
  if (j.step === 'prune' || j.step === 'after-switch') {
    action = 'finished';
    note = `${j.op} ${j.version} had passed its health gate; only ${j.step === 'prune' ? 'pruning' : 'its afterSwitch hooks'} ${j.step === 'prune' ? 'was' : 'were'} interrupted`;
  } else if (j.step === 'switch' || j.step === 'reload' || j.step === 'health' || j.step === 'revert') {
    action = 'undone';
    const cur = await currentVersion(paths);
    const switched = cur !== j.from;
    if (switched) {
      if (j.from) await switchCurrent(paths, j.from);
      else await clearCurrent(paths);
    }
    const running = (await runningSupervisor(paths)) !== null;
    // Killed at the switch with `current` unmoved: the supervisor was never told anything.
    const touched = switched || j.step !== 'switch';
    let reload = touched ? 'service not running, not reloaded' : 'service untouched';
    if (touched && (running || (config.mode === 'process' && j.from))) {
      try {
        await serveCurrent(paths, config, j.from);
        reload = `service serving ${j.from ?? 'nothing'}`;
      } catch (err) {
        reload = `reload failed: ${(err as Error).message}`;
      }
    }
    // Reaching "revert" means the release had already failed its gate.
    if (j.step === 'revert') await updateState(paths, (s) => markBad(s, j.version));
    note = `${j.op} ${j.version} was interrupted at ${j.step}; current back on ${j.from ?? '(none)'}; ${reload}`;
  } else {
    action = 'cleaned';
    note = `${j.op} ${j.version} was interrupted at ${j.step}, before the switch; temporary files removed`;
  }
  if (orphan) note += `; ${orphan}`;
  // We hold the lock, so nothing in tmp/ belongs to a live run.
  await sweepDebris(paths, 0, new Set([j.from ?? '', j.version]));
  await clearJournal(paths);
  await appendHistory(paths, {
    who: ctx.who,
    op: 'recover',
    version: j.version,
    from: j.from,
    result: 'note',
    note: `${action}: ${note}`,
  });
  report.say(`recover: ${note}`);
  return { journal: j, action, note };
}

/**
 * The killed run's hook may still be running (it has its own process group). It is the same process only
 * if its start time matches the journal's, so a reused pid is left alone.
 */
function stopOrphanHook(j: Journal): string | null {
  if (!j.hook || j.hook.startTicks === null) return null;
  if (processStartTicks(j.hook.pid) !== j.hook.startTicks) return null;
  try {
    process.kill(-j.hook.pid, 'SIGKILL');
    return `stopped its hook ${JSON.stringify(j.hook.run)} (pid ${j.hook.pid}), still running`;
  } catch {
    return null;
  }
}
