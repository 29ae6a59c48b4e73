import os from 'node:os';
import type { AlertSink } from './monitor';

export interface WebhookLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * POSTs an alert as a DingTalk-style text message: `{"msgtype":"text","text":{"content":"…"}}`.
 * Fire and forget with a timeout; failures are logged (the URL itself is not: it carries a token).
 */
export function webhookSink(url: string, log: WebhookLog, fetchImpl: typeof fetch = fetch): AlertSink {
  return (message, details) => {
    const content = `${message} [host ${os.hostname()}, pid ${process.pid}]`;
    fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ msgtype: 'text', text: { content } }),
      signal: AbortSignal.timeout(5000),
    })
      .then(async (res) => {
        await res.body?.cancel();
        if (!res.ok) log.error({ status: res.status, ...details }, 'alert webhook refused the alert');
        else log.info({ status: res.status, threshold: details.threshold }, 'alert sent to webhook');
      })
      .catch((err: Error) =>
        log.error({ err: err.message, ...details }, 'could not reach the alert webhook'),
      );
  };
}
