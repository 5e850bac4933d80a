/** The .vmx description of a Fusion client, from the validated model. */
import type { ClientModel } from "../model";
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

/** The spec with the VNC password in place, when the client has VNC and a password was given. */
export function withVncPassword(spec: VmxSpec, password: string | undefined): VmxSpec {
  return spec.vnc && password !== undefined ? { ...spec, vnc: { ...spec.vnc, password } } : spec;
}
