// Every exit code the `ferry` CLI uses, in one place: scripts and CI branch on these, so they are part of
// the public interface (docs/releases.md lists them). Add new ones here, never reuse a number.

export const ExitCode = {
  /** The command did what was asked (including "already published, identical": nothing to do). */
  Ok: 0,
  /** The command ran and failed: upload error, conflicting version, credential found in the artifact... */
  Failure: 1,
  /** The command line is wrong: unknown command or flag, missing value. */
  Usage: 2,
  /** releases.yaml is missing or invalid, or a required environment variable is not set. */
  Config: 3,
  /** Another deploy holds the environment's lock. */
  Locked: 4,
  /** A release failed verification: bad signature, checksum mismatch, untrusted key. */
  Verification: 5,
  /** A new release failed its health check and was rolled back. */
  Unhealthy: 6,
  /**
   * The run ended but could not release the environment lock it took (the registry kept failing): until
   * `ferry unlock <env>` or the lock's expiry, every deploy of that environment exits 4.
   */
  LockHeld: 7,
  /** Interrupted by SIGINT/SIGTERM (128 + SIGINT, the shell convention). */
  Interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
