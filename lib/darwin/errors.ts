import { UserError } from "../errors";

/** A kext, plist, archive or NIC name of the user's that cannot be used; the message says why and what to give instead. */
export class DarwinInputError extends UserError {
  override readonly name: string = "DarwinInputError";
}
