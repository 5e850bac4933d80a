/** Small lab descriptions for unit tests, written as a user would write them in a stack file. */
import { expect } from "vitest";
import { LabConfigError, validateLab, type LabConfigInput, type ValidateOptions } from "../../lib/model";

export function minimalLab(overrides: Partial<LabConfigInput> = {}): LabConfigInput {
  return {
    network: { subnet: "10.77.0.0/24" },
    bootImages: [{ name: "linux", kind: "ipxe" }],
    clients: [{ name: "vm1", mac: "52:54:00:00:00:01", ipv4: "10.77.0.10", bootImage: "linux" }],
    ...overrides,
  };
}

/** An iPXE image with an NFS root and a NetBSD image: a reserved client of the first, a pool client of the second (the DHCP renderers' tests). */
export function ipxeAndNetbsdLab(): LabConfigInput {
  return minimalLab({
    bootImages: [
      { name: "linux", kind: "ipxe", nfsRoot: true },
      { name: "bsd", kind: "netbsd", pxeboot: "p", kernel: "k" },
    ],
    clients: [
      { name: "vm1", mac: "52:54:00:00:00:01", ipv4: "10.77.0.10", bootImage: "linux" },
      { name: "vm2", mac: "52:54:00:00:00:02", bootImage: "bsd" },
    ],
  });
}

/** The problems validation reports for `config`, each as `field: message`; fails when it is accepted. */
export function problemsOf(config: unknown, options?: ValidateOptions): string[] {
  try {
    validateLab(config, undefined, options);
  } catch (error) {
    expect(error).toBeInstanceOf(LabConfigError);
    return (error as LabConfigError).problems.map((problem) => `${problem.field}: ${problem.message}`);
  }
  throw new Error("expected the lab to be rejected");
}
