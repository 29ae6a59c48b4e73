// One message to a worker over IPC, and the wait for its acknowledgement: the supervisor uses it where a
// change must have reached the worker before it reports (maintenance on or off, standby).
import type { ChildProcess } from 'node:child_process';

/** Sends `message`; true once `isAck` accepts a reply, false after `ackMs`, on the worker's exit, or if it is gone. */
export function sendAwaitingAck(
  child: ChildProcess,
  message: object,
  isAck: (reply: Record<string, unknown>) => boolean,
  ackMs: number,
): Promise<boolean> {
  if (!child.connected) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(ok);
    };
    const onMessage = (m: unknown) => {
      if (m !== null && typeof m === 'object' && isAck(m as Record<string, unknown>)) done(true);
    };
    const onExit = () => done(false);
    const timer = setTimeout(() => done(false), ackMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(message, (err) => {
      if (err) done(false);
    });
  });
}
