import type { AppContext } from '../context';

/**
 * After a write: recompute total usage (cached, adjusted by this write) and let the monitor judge,
 * in the background so the response does not wait for a listing.
 */
export function checkCapacity(ctx: AppContext, log: { warn(obj: object, msg: string): void }): void {
  const monitor = ctx.monitor;
  if (!monitor) return;
  ctx.usage
    .totalBytes()
    .then((total) => monitor.observe(total))
    .catch((err) => log.warn({ err }, 'could not compute total usage for capacity alerts'));
}
