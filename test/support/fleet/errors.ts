/** A fleet that cannot start: says what went wrong and what to do about it. */
export class FleetError extends Error {
  override name = 'FleetError';
  constructor(
    message: string,
    readonly remedy: string,
  ) {
    super(`${message}\n  remedy: ${remedy}`);
  }
}
