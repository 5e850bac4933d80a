/** Small lab descriptions for unit tests, written as a user would write them in a stack file. */
import type { LabConfigInput } from "../../lib/model";

export function minimalLab(overrides: Partial<LabConfigInput> = {}): LabConfigInput {
  return {
    network: { subnet: "10.77.0.0/24" },
    bootImages: [{ name: "linux", kind: "ipxe" }],
    clients: [{ name: "vm1", mac: "52:54:00:00:00:01", ipv4: "10.77.0.10", bootImage: "linux" }],
    ...overrides,
  };
}
