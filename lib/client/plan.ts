/**
 * What each declared client becomes on the machine running Pulumi: for a QEMU guest its launch
 * (command line, tap, files), with `auto` settings resolved against this host and relative
 * folders against the project folder. The stack program and `netboot-lab render` both plan
 * through here, so the script `render` writes is the command `pulumi up` runs.
 */
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { ClientModel, NetworkModel } from "../model";
import { qemuLaunch, type QemuLaunch } from "./qemu";
import { resolveQemuChoices, type QemuHost } from "./qemu-host";

/** A configured path on this machine: `~/…` under the home folder, relative paths under `baseDir`. */
export function hostPath(path: string, baseDir: string): string {
  if (path === "~" || path.startsWith("~/")) return join(homedir(), path.slice(1));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

export function planQemuClient(client: ClientModel, network: NetworkModel, baseDir: string, host: QemuHost): QemuLaunch {
  if (!client.qemu) throw new Error(`client "${client.name}" is not a QEMU client`);
  return qemuLaunch(client, network.bridge, hostPath(client.qemu.runDir, baseDir), resolveQemuChoices(client.qemu.accel, client.qemu.attach, host));
}

/** The address dhcpd will hand the client: its reservation, or which pool it comes from. */
export function expectedAddress(client: ClientModel, network: NetworkModel): string {
  if (client.ipv4) return client.ipv4;
  return `dynamic, from ${network.pools.map((pool) => `${pool.start}-${pool.end}`).join(" or ")}`;
}
