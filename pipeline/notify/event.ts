// What a notification is about. The CLI builds one of these at each point of a deploy, rollback or
// promote (pipeline/notify/fleet-events.ts); every target format renders the same facts.
import type { NotifyEventName } from '../config/schema-notifications';

export type { NotifyEventName };

export interface NotifyEvent {
  event: NotifyEventName;
  app: string;
  env: string;
  /** Who ran it: FERRY_WHO, the CI job, or user@machine. */
  who: string;
  /** The release the run is about (deploy/promote target; rollback target when known). */
  version: string | null;
  /** What the environment ran before. */
  from: string | null;
  time: string;
  /** false for a failure (deploy.failed, a failed rollback, host.reverted). */
  ok: boolean;
  /** How many hosts the run covered. */
  hosts?: number;
  /** On failure: which host and why. */
  failure?: { host: string | null; reason: string };
  /** Things that went wrong without failing the run (hooks after the switch). */
  warnings?: string[];
  durationMs?: number;
  /** promote: the channel's new sequence number. */
  sequence?: number;
  /** Sent by `ferry notify` to check a target: nothing happened. */
  test?: boolean;
}
