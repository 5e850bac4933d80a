/** `netboot-lab render` for clients: `clients/<name>.qemu.sh` (what the provider runs) and `clients/<name>.vmx`. */
import type { LabModel } from "../model";
import type { RenderedFile } from "../render-lab";
import { vmxSpecFor } from "./fusion";
import { planQemuClient } from "./plan";
import { renderQemuScript } from "./qemu";
import type { QemuHost } from "./qemu-host";
import { renderVmx } from "./vmx";

/**
 * QEMU commands are planned against `host` and `baseDir` exactly as the stack program plans
 * them. A .vmx is written without its VNC password: that is a Pulumi secret only the program reads.
 */
export function renderClientFiles(lab: LabModel, baseDir: string, host: QemuHost): (RenderedFile & { executable?: boolean })[] {
  return lab.clients.map((client) =>
    client.qemu
      ? { path: `clients/${client.name}.qemu.sh`, content: renderQemuScript(planQemuClient(client, lab.network, baseDir, host)), executable: true }
      : { path: `clients/${client.name}.vmx`, content: renderVmx(vmxSpecFor(client)) },
  );
}
