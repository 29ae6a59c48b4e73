// The agent's one error type: a stable machine code (what the CLI branches on), the step it happened in,
// a message and a remedy for people, and the exit code from the shared table.

import { FerryError } from '../errors';
import { ExitCode, type ExitCodeValue } from '../exit-codes';
import type { HookRun } from '../hooks/spec';

export type AgentErrorCode =
  | 'usage'
  | 'config'
  | 'locked'
  | 'bad_release'
  | 'bad_signature'
  | 'manifest_invalid'
  | 'version_mismatch'
  | 'name_mismatch'
  | 'download_failed'
  | 'artifact_mismatch'
  | 'unsafe_archive'
  | 'archive_too_large'
  | 'release_mismatch'
  | 'disk_full'
  | 'not_installed'
  | 'nothing_to_roll_back'
  | 'service_down'
  | 'reload_failed'
  | 'health_failed'
  // a beforeSwitch hook failed or timed out: the host stopped before the switch (not the release's gate)
  | 'hook_failed'
  // the Node runtime a release pins cannot run on this host (arch, C library)
  | 'runtime_unsupported'
  // pull mode (agent sync): the channel and the credentials to read it
  | 'channel_invalid'
  | 'channel_mismatch'
  | 'channel_expired'
  | 'channel_replayed'
  | 'credentials'
  | 'registry_failed'
  // day-2 operations: the service log cannot be read (journalctl missing), maintenance mode not applied
  | 'logs_unavailable'
  | 'maintenance_failed'
  | 'internal';

const EXIT: Partial<Record<AgentErrorCode, ExitCodeValue>> = {
  usage: ExitCode.Usage,
  config: ExitCode.Config,
  locked: ExitCode.Locked,
  bad_signature: ExitCode.Verification,
  manifest_invalid: ExitCode.Verification,
  version_mismatch: ExitCode.Verification,
  name_mismatch: ExitCode.Verification,
  artifact_mismatch: ExitCode.Verification,
  unsafe_archive: ExitCode.Verification,
  archive_too_large: ExitCode.Verification,
  release_mismatch: ExitCode.Verification,
  reload_failed: ExitCode.Unhealthy,
  health_failed: ExitCode.Unhealthy,
  channel_invalid: ExitCode.Verification,
  channel_mismatch: ExitCode.Verification,
  channel_expired: ExitCode.Verification,
  channel_replayed: ExitCode.Verification,
  credentials: ExitCode.Config,
};

export class AgentError extends FerryError {
  override name = 'AgentError';
  readonly code: AgentErrorCode;
  /** Filled in by the command runner when the thrower did not know its step. */
  step: string | undefined;
  /** Evidence for the operator, who is not on this host: the app's last output, the failing answer. */
  readonly details: FailureDetails | undefined;

  constructor(
    code: AgentErrorCode,
    message: string,
    opts: {
      step?: string;
      remedy?: string;
      cause?: unknown;
      exitCode?: ExitCodeValue;
      details?: FailureDetails;
    } = {},
  ) {
    super(message, {
      remedy: opts.remedy,
      cause: opts.cause,
      exitCode: opts.exitCode ?? EXIT[code] ?? ExitCode.Failure,
    });
    this.code = code;
    this.step = opts.step;
    this.details = opts.details;
  }
}

export interface FailureDetails {
  /** The last lines (at most 40) the new workers printed. */
  output?: string[];
  /** The failing health answer: status and the start of its body, or the connection error. */
  probe?: { status?: number; body?: string; version?: string | null; error?: string };
  /** The hook that failed: its exit and last output lines. */
  hook?: HookRun;
  /** Every hook of that phase run so far, the failed one last. */
  hooks?: HookRun[];
}

/** The error as it appears in the final JSON line and in history. */
export function errorJson(
  err: unknown,
  step?: string,
): { step?: string; code: string; message: string; remedy?: string; details?: FailureDetails } {
  if (err instanceof AgentError) {
    return {
      ...((err.step ?? step) ? { step: err.step ?? step } : {}),
      code: err.code,
      message: err.message,
      ...(err.remedy ? { remedy: err.remedy } : {}),
      ...(err.details ? { details: err.details } : {}),
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { ...(step ? { step } : {}), code: 'internal', message };
}

/** ENOSPC or EDQUOT: the filesystem (or the deploy user's quota) is full. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** A full disk named as such, with what to do, instead of an "internal" errno message. */
export function diskFullError(err: unknown, step: 'download' | 'unpack', root: string): AgentError {
  return new AgentError(
    'disk_full',
    `the disk is full: ${(err as Error).message} (${step === 'download' ? 'downloading' : 'unpacking'} the release under ${root})`,
    {
      step,
      cause: err,
      remedy: `free space on the filesystem holding ${root} (\`agent prune --keep N\` removes old releases), then deploy again`,
    },
  );
}
