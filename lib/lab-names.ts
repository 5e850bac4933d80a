/**
 * The Docker names of a deployed lab: the NetbootServer component creates its network, volumes
 * and containers under them, and `netboot-lab check` / `watch` find them by the same function.
 */
import type { LabConfig } from "./model/schema";

/** Label keys set on every Docker object the lab creates, so `docker ps --filter` finds them. */
export const LAB_LABEL = "io.netboot-lab.lab";
export const ROLE_LABEL = "io.netboot-lab.role";

/** `docker.namePrefix` of the stack, by default `nbl-<stack>`. */
export function labNamePrefix(stack: string, docker: Pick<LabConfig["docker"], "namePrefix">): string {
  return docker.namePrefix ?? `nbl-${stack}`;
}

export interface LabDockerNames {
  readonly prefix: string;
  readonly network: string;
  readonly bootTreeVolume: string;
  readonly leasesVolume: string;
  /** The container that owns the lab address; every daemon joins its network namespace. */
  readonly pod: string;
  /** A daemon's container by role (`dhcpd`, `tftp`, `nfs`, `http`, as lib/servers names them). */
  container(role: string): string;
}

export function labDockerNames(prefix: string): LabDockerNames {
  return {
    prefix,
    network: prefix,
    bootTreeVolume: `${prefix}-boot-tree`,
    leasesVolume: `${prefix}-leases`,
    pod: `${prefix}-pod`,
    container: (role) => `${prefix}-${role}`,
  };
}
