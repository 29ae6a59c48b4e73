// Sends notifications without ever holding up or failing the run that emits them: emit() starts the
// requests and returns at once; flush(), at the end of the command, waits for them, each bounded by a
// 5 s timeout. A target that is misconfigured, refuses, fails or hangs becomes one warning line naming
// the target by its place in releases.yaml and the variable it reads, never by its URL or secret (the
// URLs of DingTalk, Feishu, WeCom and Slack bots carry their tokens).
import type { NotificationConfig } from '../config/resolve';
import type { NotifyEvent } from './event';
import { buildRequest, refusal } from './formats';

export const NOTIFY_TIMEOUT_MS = 5000;

export interface Delivery {
  target: string;
  event: NotifyEvent['event'];
  ok: boolean;
  error?: string;
}

export interface NotifierOptions {
  targets: readonly NotificationConfig[];
  /** Where ${NAME} references are read, at send time. */
  env: Record<string, string | undefined>;
  /** The environment the run is about (targets may be limited to some). */
  envName: string;
  warn(line: string): void;
  timeoutMs?: number;
}

export class Notifier {
  private readonly pending: Promise<Delivery>[] = [];

  constructor(private readonly o: NotifierOptions) {}

  /** Whether any target wants this event here (so callers can skip building it). */
  wants(event: NotifyEvent['event']): boolean {
    return this.o.targets.some((t) => this.applies(t, event));
  }

  emit(event: NotifyEvent): void {
    for (const t of this.o.targets) {
      if (this.applies(t, event.event)) this.pending.push(this.send(t, event));
    }
  }

  /** `ferry notify`: the event to every target of this environment, whatever events it asked for. */
  emitToAll(event: NotifyEvent): number {
    const targets = this.o.targets.filter(
      (t) => t.environments === null || t.environments.includes(this.o.envName),
    );
    for (const t of targets) this.pending.push(this.send(t, event));
    return targets.length;
  }

  /** Waits for every message emitted so far; never throws. */
  async flush(): Promise<Delivery[]> {
    const all: Delivery[] = [];
    while (this.pending.length > 0) all.push(...(await Promise.all(this.pending.splice(0))));
    return all;
  }

  private applies(t: NotificationConfig, event: NotifyEvent['event']): boolean {
    return t.events.includes(event) && (t.environments === null || t.environments.includes(this.o.envName));
  }

  private async send(t: NotificationConfig, event: NotifyEvent): Promise<Delivery> {
    const label = `notifications[${t.index}] (${t.type})`;
    const fail = (error: string): Delivery => {
      this.o.warn(`${label}: ${event.event} not delivered: ${error}`);
      return { target: label, event: event.event, ok: false, error };
    };
    const url = this.o.env[t.urlEnv]?.trim();
    if (!url) return fail(`${t.urlEnv} is not set in the environment`);
    if (!/^https?:\/\/[^\s]+$/i.test(url) || !URL.canParse(url)) {
      return fail(`${t.urlEnv} is not an http(s) URL`);
    }
    let secret: string | undefined;
    if (t.secretEnv) {
      secret = this.o.env[t.secretEnv];
      if (!secret) return fail(`${t.secretEnv} is not set in the environment`);
    }
    const timeoutMs = this.o.timeoutMs ?? NOTIFY_TIMEOUT_MS;
    // Whatever an error says, it must not repeat the URL (token) or the secret.
    const scrub = (s: string) => {
      let out = s;
      for (const [value, name] of [
        [url, t.urlEnv],
        [secret, t.secretEnv],
      ] as const) {
        if (value && name) out = out.split(value).join(`$${name}`);
      }
      return out;
    };
    try {
      const req = buildRequest(t.type, { url, ...(secret ? { secret } : {}) }, event, Date.now());
      const res = await fetch(req.url, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = await res.text();
      const refused = refusal(t.type, res.status, body);
      return refused ? fail(scrub(refused)) : { target: label, event: event.event, ok: true };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        return fail(`no answer within ${timeoutMs / 1000}s`);
      }
      return fail(scrub(e.cause?.code ?? e.cause?.message ?? e.message));
    }
  }
}
