/** The .vmx description of a Fusion client, from the validated model. */
import type { ClientModel } from "../model";
import type { ConfigProblem } from "../model/errors";
import { vmxVirtualDev, type VmxSpec } from "./vmx";

/** Where VMware writes the guest's COM1, relative to the bundle (the model's serialLog names it in full). */
export const FUSION_SERIAL_LOG = "serial.log";

/** The VM as renderVmx takes it; the VNC password, a secret, is added by whoever holds it. */
export function vmxSpecFor(client: ClientModel): VmxSpec {
  const fusion = client.fusion;
  if (!fusion) throw new Error(`client "${client.name}" is not a Fusion client`);
  return {
    displayName: fusion.displayName,
    guestOS: fusion.guestOS,
    firmware: client.firmware === "bios" ? "bios" : "efi",
    memoryMiB: client.memoryMiB,
    cpus: client.cpus,
    nic: { virtualDev: vmxVirtualDev(client.nic), mac: client.mac, connection: fusion.connection },
    serialLogPath: FUSION_SERIAL_LOG,
    ...(fusion.vnc ? { vnc: { port: fusion.vnc.port } } : {}),
    ...(fusion.efiRom ? { efiRom: fusion.efiRom } : {}),
  };
}

/**
 * Why the client's VNC server may not run as things are: it has no password (the secret
 * `netboot-lab:vncPassword` is not set, `passwordSet`) and the stack did not accept that with
 * `vnc.allowWithoutPassword`. Anyone who reaches the port would see and drive the console.
 * The secret is never part of the model (the CLI cannot decrypt it), so whoever reads it asks here.
 */
export function vncWithoutPassword(client: ClientModel, passwordSet: boolean): string | undefined {
  const vnc = client.fusion?.vnc;
  if (!vnc || passwordSet || vnc.allowWithoutPassword) return undefined;
  return (
    `a VNC server on port ${vnc.port} without a password shows the guest's console to anyone who reaches the port; ` +
    `set one (pulumi config set --secret netboot-lab:vncPassword <1 to 8 characters>), or set vnc.allowWithoutPassword: true on this client to run it open`
  );
}

/** vncWithoutPassword for every client of a validated lab, each under its field (`clients[1].vnc`). */
export function vncPasswordProblems(clients: readonly ClientModel[], passwordSet: boolean): ConfigProblem[] {
  return clients.flatMap((client, index) => {
    const message = vncWithoutPassword(client, passwordSet);
    return message ? [{ field: `clients[${index}].vnc`, message }] : [];
  });
}

/** The spec with the VNC password in place, when the client has VNC and a password was given. */
export function withVncPassword(spec: VmxSpec, password: string | undefined): VmxSpec {
  return spec.vnc && password !== undefined ? { ...spec, vnc: { ...spec.vnc, password } } : spec;
}
