import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  /** Total tries, including the first. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 3, baseDelayMs: 100, maxDelayMs: 2000 };

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);
const NETWORK_NAMES = new Set([
  'ResponseTimeoutError',
  'ConnectionTimeoutError',
  'RequestError',
  'SocketError',
]);

/**
 * Whether an ali-oss failure is worth another try: 5xx and 429 answers (ali-oss never retries
 * those) and network failures (ali-oss reports them with status -1 / -2).
 */
export function isRetryable(err: unknown): boolean {
  const e = err as { status?: number; code?: string; name?: string };
  if (typeof e.status === 'number' && (e.status >= 500 || e.status === 429 || e.status < 0)) return true;
  return (
    (e.code !== undefined && NETWORK_CODES.has(e.code)) || (e.name !== undefined && NETWORK_NAMES.has(e.name))
  );
}

/**
 * Runs an idempotent operation, retrying retryable failures with exponential backoff and full
 * jitter (so hosts hit by the same outage do not retry in step).
 */
export async function withRetry<T>(
  fn: () => Promise<T>,
  opts: RetryOptions = DEFAULT_RETRY,
  onRetry?: (err: unknown, attempt: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= opts.attempts || !isRetryable(err)) throw err;
      onRetry?.(err, attempt);
      const cap = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.random() * cap);
    }
  }
}
