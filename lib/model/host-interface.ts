/**
 * What validation may ask about the network interfaces of the machine that runs it: whether a
 * bridge name the lab wants is already taken. Passed in, so the rules give the same answer on
 * every machine under test.
 */
import { existsSync } from "node:fs";
import { networkInterfaces } from "node:os";

export interface HostInterface {
  /** A Linux bridge (its sysfs folder has `bridge/`). */
  readonly bridge: boolean;
  /** Its IPv4 addresses. */
  readonly ipv4: readonly string[];
}

/** The interface of that name on this machine; undefined when there is none. */
export type HostInterfaceProbe = (name: string) => HostInterface | undefined;

/** Reads /sys/class/net and the kernel's address list; a machine without sysfs (macOS) has no interface to clash with a Docker bridge. */
export function probeHostInterface(name: string): HostInterface | undefined {
  if (!existsSync(`/sys/class/net/${name}`)) return undefined;
  return {
    bridge: existsSync(`/sys/class/net/${name}/bridge`),
    ipv4: (networkInterfaces()[name] ?? []).filter((address) => address.family === "IPv4").map((address) => address.address),
  };
}
