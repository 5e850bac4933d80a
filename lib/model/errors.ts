import { UserError } from "../errors";

/** One problem in a lab description: where it is (as written in the stack file) and what to do. */
export interface ConfigProblem {
  /** Field path under the `netboot-lab:` namespace, e.g. `clients[1].mac`. */
  readonly field: string;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/** Thrown before any resource is declared when the lab description is invalid; lists every problem at once. */
export class LabConfigError extends UserError {
  constructor(
    readonly problems: readonly ConfigProblem[],
    source = "stack config",
  ) {
    super(
      `Invalid lab configuration in ${source} (keys under "netboot-lab:"):\n` +
        problems.map((problem) => `  - ${problem.field}: ${problem.message}`).join("\n"),
    );
    this.name = "LabConfigError";
  }
}
