import type { QemuHost } from "../../lib/client/qemu-host";
import type { VmxSpec } from "../../lib/client/vmx";

/** The VNC password the provider tests look for in state, outputs and logs. */
export const VNC_PASSWORD = "Vnc8pass";

/** A Mac OS X 10.6 guest whose .vmx holds a VNC password. */
export const macGuestWithVnc: VmxSpec = {
  displayName: "snow leopard",
  guestOS: "darwin10",
  firmware: "efi",
  memoryMiB: 2048,
  cpus: 1,
  nic: { virtualDev: "e1000", mac: "00:50:56:00:00:10", connection: { type: "bridged", hostInterface: "en0" } },
  serialLogPath: "serial.log",
  vnc: { port: 5901, password: VNC_PASSWORD },
};

/** QEMU arguments as `-option value` pairs, the way one reads a command line. */
export function optionPairs(args: unknown): string[] {
  const pairs: string[] = [];
  for (const arg of args as readonly string[]) {
    if (arg.startsWith("-")) pairs.push(arg);
    else pairs[pairs.length - 1] += ` ${arg}`;
  }
  return pairs;
}

/**
 * A machine that can run every QEMU client (QEMU, OVMF, KVM, root, an allowed setuid bridge
 * helper), with `overrides`: what unit and component tests plan against, so they give the same
 * answer on a laptop with KVM, a cloud VM without it, as root or not.
 */
export function fakeQemuHost(overrides: Partial<QemuHost> = {}): QemuHost {
  return {
    kvmUsable: true,
    isRoot: true,
    fileExists: () => true,
    which: (program) => `/usr/bin/${program}`,
    bridgeHelperAllows: () => true,
    bridgeHelperSetuid: true,
    ...overrides,
  };
}
