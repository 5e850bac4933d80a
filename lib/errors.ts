/**
 * Base of every error a user fixes (stack config, media, archives, command-line arguments)
 * rather than a bug: the stack program and the CLI show its message without a stack trace.
 */
export class UserError extends Error {
  constructor(
    message: string,
    /** Exit code when the CLI ends on it. */
    readonly exitCode = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
