/**
 * Base of every error caused by the user's input (a kext, a plist, an archive, a NIC name)
 * rather than by a bug: callers such as the CLI print its message without a stack trace.
 */
export class DarwinInputError extends Error {
  override readonly name: string = "DarwinInputError";
}
