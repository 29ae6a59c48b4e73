// The words of a notification: a title and a few lines saying who, what version, which environment, what
// happened, and on failure where and why. Pure, so every format says exactly the same thing.
import type { NotifyEvent } from './event';

export interface Message {
  title: string;
  lines: string[];
}

/** Reasons can be long (health answers, hook output); chat bots cap message size. */
const MAX_REASON = 600;

export function messageOf(e: NotifyEvent): Message {
  const rel = `${e.app} ${e.version ?? '(previous release)'}`;
  const by = `by ${e.who}`;
  const lines: string[] = [];
  let title: string;
  switch (e.event) {
    case 'deploy.started':
      title = `[${e.env}] deploying ${rel}`;
      lines.push(`Deploy of ${rel} to ${e.env} started ${by}${hostCount(e)}.`);
      break;
    case 'deploy.succeeded':
      title = `[${e.env}] ${rel} deployed`;
      lines.push(`${rel} is serving on ${e.env}${hostCount(e)}, deployed ${by}${took(e)}.`);
      break;
    case 'deploy.failed':
      title = `[${e.env}] deploy of ${rel} FAILED`;
      lines.push(
        `Deploy of ${rel} to ${e.env} ${by} failed${e.failure?.host ? ` on ${e.failure.host}` : ''}.`,
      );
      break;
    case 'rollback':
      title = e.ok ? `[${e.env}] rolled back to ${rel}` : `[${e.env}] rollback FAILED`;
      lines.push(
        e.ok
          ? `${e.env} was rolled back to ${rel} ${by}${hostCount(e)}.`
          : `Rollback of ${e.env} ${by} failed${e.failure?.host ? ` on ${e.failure.host}` : ''}.`,
      );
      break;
    case 'host.reverted':
      title = `[${e.env}] ${e.failure?.host ?? 'a host'} switched back from ${rel}`;
      lines.push(
        `${e.failure?.host ?? 'A host'} of ${e.env} switched back to ${e.from ?? 'its previous release'} by itself: ${rel} failed its gate (run ${by}).`,
      );
      break;
    case 'promote':
      title = `[${e.env}] channel moved to ${rel}`;
      lines.push(
        `The channel of ${e.env} was moved to ${rel}${e.sequence !== undefined ? ` (sequence ${e.sequence})` : ''} ${by}; pull-mode hosts converge at their next sync.`,
      );
      break;
  }
  if (e.test) {
    title = `[test] ${title}`;
    lines.unshift(`This is a test sent by ferry notify ${e.env}: nothing was deployed.`);
  }
  if (e.from && e.event !== 'host.reverted') lines.push(`Before: ${e.from}.`);
  if (e.failure) lines.push(`Reason: ${clip(e.failure.reason)}`);
  for (const w of e.warnings ?? []) lines.push(`Warning: ${clip(w)}`);
  return { title, lines };
}

/** Markdown as DingTalk, WeCom and Slack's mrkdwn all read it: a bold title, then the lines. */
export function markdownOf(m: Message, bold: '**' | '*' = '**'): string {
  return [`${bold}${m.title}${bold}`, ...m.lines].join('\n\n');
}

export function plainOf(m: Message): string {
  return [m.title, ...m.lines].join('\n');
}

function hostCount(e: NotifyEvent): string {
  return e.hosts === undefined ? '' : ` (${e.hosts} host${e.hosts === 1 ? '' : 's'})`;
}

function took(e: NotifyEvent): string {
  return e.durationMs === undefined ? '' : ` in ${(e.durationMs / 1000).toFixed(1)}s`;
}

function clip(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > MAX_REASON ? `${one.slice(0, MAX_REASON)}…` : one;
}
