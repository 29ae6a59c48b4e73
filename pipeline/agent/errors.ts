// The agent's one error type: a stable machine code (what the CLI branches on), the step it happened in,
// a message and a remedy for people, and the exit code from the shared table.
import { ExitCode, type ExitCodeValue } from '../cli/exit-codes';
import { FerryError } from '../errors';

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
  | 'not_installed'
  | 'nothing_to_roll_back'
  | 'service_down'
  | 'reload_failed'
  | 'health_failed'
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
};

export class AgentError extends FerryError {
  override name = 'AgentError';
  readonly code: AgentErrorCode;
  /** Filled in by the command runner when the thrower did not know its step. */
  step: string | undefined;

  constructor(
    code: AgentErrorCode,
    message: string,
    opts: { step?: string; remedy?: string; cause?: unknown; exitCode?: ExitCodeValue } = {},
  ) {
    super(message, {
      remedy: opts.remedy,
      cause: opts.cause,
      exitCode: opts.exitCode ?? EXIT[code] ?? ExitCode.Failure,
    });
    this.code = code;
    this.step = opts.step;
  }
}

/** The error as it appears in the final JSON line and in history. */
export function errorJson(
  err: unknown,
  step?: string,
): { step?: string; code: string; message: string; remedy?: string } {
  if (err instanceof AgentError) {
    return {
      ...((err.step ?? step) ? { step: err.step ?? step } : {}),
      code: err.code,
      message: err.message,
      ...(err.remedy ? { remedy: err.remedy } : {}),
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { ...(step ? { step } : {}), code: 'internal', message };
}
