// The few error types the pipeline throws on purpose. Each carries what went wrong, what to do about it and
// the exit code; the CLI prints the first two and exits with the third. Anything else that escapes is a bug
// and gets a stack trace.
import { ExitCode, type ExitCodeValue } from './exit-codes';

export class FerryError extends Error {
  override name = 'FerryError';
  readonly remedy: string | undefined;
  readonly exitCode: ExitCodeValue;

  constructor(message: string, opts: { remedy?: string; exitCode?: ExitCodeValue; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.remedy = opts.remedy;
    this.exitCode = opts.exitCode ?? ExitCode.Failure;
  }
}

/** The command line is wrong (exit 2). */
export class UsageError extends FerryError {
  override name = 'UsageError';
  constructor(message: string, opts: { remedy?: string } = {}) {
    super(message, { ...opts, exitCode: ExitCode.Usage });
  }
}

/** releases.yaml or the environment is wrong (exit 3). `problems` holds one line per bad key. */
export class ConfigError extends FerryError {
  override name = 'ConfigError';
  readonly problems: string[];
  constructor(message: string, opts: { remedy?: string; problems?: string[]; cause?: unknown } = {}) {
    const problems = opts.problems ?? [];
    super(problems.length > 0 ? `${message}\n${problems.map((p) => `  ${p}`).join('\n')}` : message, {
      ...opts,
      exitCode: ExitCode.Config,
    });
    this.problems = problems;
  }
}

/** Another run holds a lock (exit 4); the remedy names the unlock command. */
export class LockedError extends FerryError {
  override name = 'LockedError';
  constructor(message: string, opts: { remedy?: string } = {}) {
    super(message, { ...opts, exitCode: ExitCode.Locked });
  }
}

/**
 * This run could not let go of the environment lock it holds (exit 7). Said in one exact sentence, because
 * the operator's next step is not "rerun" (that would exit 4) but `ferry unlock`.
 */
export class LockHeldError extends FerryError {
  override name = 'LockHeldError';
  readonly env: string;
  /** Why releasing failed, after its retries. */
  readonly reason: string;
  constructor(env: string, reason: string, opts: { before?: unknown } = {}) {
    const line = `the deploy lock on ${env} is still held by this run; run \`ferry unlock ${env}\``;
    // The run's own failure, when there was one, comes first: it is what went wrong.
    const before = opts.before instanceof Error ? `${opts.before.message}\n` : '';
    super(`${before}${line}`, {
      exitCode: ExitCode.LockHeld,
      remedy: `once the registry answers again, run ferry unlock ${env} (releasing failed: ${reason}); until then, or until the lock expires, every deploy of ${env} exits 4`,
      ...(opts.before === undefined ? {} : { cause: opts.before }),
    });
    this.env = env;
    this.reason = reason;
  }
}

/** A release failed verification (exit 5): signature, checksum or key. */
export class VerificationError extends FerryError {
  override name = 'VerificationError';
  constructor(message: string, opts: { remedy?: string; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.Verification });
  }
}

export function isFerryError(err: unknown): err is FerryError {
  return err instanceof FerryError;
}
