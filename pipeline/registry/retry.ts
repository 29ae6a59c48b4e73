// Retries for registry calls. ali-oss retries only some network errors and never a 5xx, and a connection
// reset in the middle of a response body surfaces as an "XML parse error" with status 200; all of those
// are worth another try. Backoff is exponential with full jitter so many CI jobs do not retry in step.

export interface RetryOptions {
  /** Attempts after the first. Default 4. */
  retries?: number;
  /** First backoff ceiling in ms; doubles each attempt. Default 200. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** Override to decide which errors are transient; default isTransient. */
  isRetryable?: (error: unknown) => boolean;
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'ResponseTimeoutError',
  'ConnectionTimeoutError',
  'RequestError',
  'ResponseError',
]);

/** True for failures another attempt may fix: 5xx, 429, timeouts, resets, truncated or garbled bodies. */
export function isTransient(error: unknown): boolean {
  const e = error as { status?: unknown; code?: unknown; name?: unknown; message?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  const status = typeof e.status === 'number' ? e.status : undefined;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  // ali-oss uses -1/-2 for requests that never got a response, and reports a 2xx whose body it could not
  // read (cut short) as an error carrying that 2xx status.
  if (status !== undefined && (status < 0 || (status >= 200 && status < 300))) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (typeof e.name === 'string' && NETWORK_CODES.has(e.name)) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  // A body cut short: the XML parser (sax: "...\nLine: 1\nColumn: 80\nChar: ") fails on what arrived,
  // or the socket closed under us.
  if (
    /\nLine: \d+\nColumn: \d+\nChar:|XML parse error|socket hang up|aborted|terminated|other side closed|premature close/i.test(
      message,
    )
  ) {
    return true;
  }
  return e.name === 'TransientError';
}

/** An error our own checks raise (short read, CRC mismatch): always worth retrying. */
export class TransientError extends Error {
  override name = 'TransientError';
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const retries = opts.retries ?? 4;
  const base = opts.baseDelayMs ?? 200;
  const max = opts.maxDelayMs ?? 10_000;
  const retryable = opts.isRetryable ?? isTransient;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt > retries || !retryable(error)) throw error;
      const delayMs = Math.round(Math.random() * Math.min(max, base * 2 ** (attempt - 1)));
      opts.onRetry?.({ attempt, delayMs, error });
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
