/**
 * Client: one VM of the lab, declared from the validated model. A QEMU guest is a managed
 * process (QemuProcess) that `pulumi up` starts on the lab bridge and `pulumi destroy` stops; a
 * VMware Fusion VM is a `.vmwarevm` bundle (VmxBundle) written on this Mac, started through
 * vmrun when Fusion is installed.
 */
import * as pulumi from "@pulumi/pulumi";
import { vmxSpecFor, vncWithoutPassword, withVncPassword } from "../../lib/client/fusion";
import { expectedAddress, hostPath, planQemuClient } from "../../lib/client/plan";
import { renderQemuScript, type QemuLaunch } from "../../lib/client/qemu";
import { probeQemuHost } from "../../lib/client/qemu-host";
import { renderVmx, VmxError } from "../../lib/client/vmx";
import type { ClientModel, NetworkModel } from "../../lib/model";
import { QemuProcess } from "./qemu-process";
import { VmxBundle } from "./vmx-bundle";

export interface ClientArgs {
  /** The client as validated by lib/model (an entry of `LabModel.clients`). A plain value: the VM is planned while the program runs. */
  readonly client: ClientModel;
  /** The lab network (`LabModel.network`): the bridge QEMU guests join, the pools of clients without a reservation. */
  readonly network: NetworkModel;
  /** Folder relative paths (the QEMU run folder) resolve from. Default: the working directory (the Pulumi project folder). */
  readonly baseDir?: string;
  /**
   * QEMU: the launch to run, planned by `planQemuClient` before anything was declared. Default:
   * planned here against this machine (`probeQemuHost`).
   */
  readonly qemuLaunch?: QemuLaunch;
  /**
   * Fusion: the VNC password (the secret `netboot-lab:vncPassword`), written only when the client has `vnc`. Default: none,
   * which a client with `vnc` accepts only with `vnc.allowWithoutPassword`.
   */
  readonly vncPassword?: pulumi.Input<string>;
}

export class Client extends pulumi.ComponentResource {
  public readonly platform: pulumi.Output<string>;
  /** The address dhcpd hands the VM: its reservation, or the pool it comes from. */
  public readonly address: pulumi.Output<string>;
  /** The file dhcpd hands the VM's firmware. */
  public readonly bootFile: pulumi.Output<string>;
  /** The file the VM's first serial port is written to. */
  public readonly serialLog: pulumi.Output<string>;
  /** QEMU: the exact command the managed process runs, as a shell script. */
  public readonly qemuCommand: pulumi.Output<string | undefined>;
  /** Fusion: the written .vmx. */
  public readonly vmxPath: pulumi.Output<string | undefined>;
  /** Fusion: how to open the VM by hand (`open '<bundle>'`, or the vmrun command) when vmrun did not start it. */
  public readonly howToStart: pulumi.Output<string | undefined>;
  /** Whether the VM was running after the last update (Fusion: started through vmrun). */
  public readonly running: pulumi.Output<boolean>;
  /** QEMU: what the provider found that needs the user (a guest that had died and was started again), or empty. */
  public readonly note: pulumi.Output<string>;

  constructor(name: string, args: ClientArgs, opts?: pulumi.ComponentResourceOptions) {
    const { client, network } = args;
    const baseDir = args.baseDir ?? process.cwd();
    // Planned before super(): a client that cannot run here leaves no resource behind.
    const launch = client.qemu ? (args.qemuLaunch ?? planQemuClient(client, network, baseDir, probeQemuHost())) : undefined;
    const vmx = client.fusion ? vmxSpecFor(client) : undefined;
    const openVnc = vncWithoutPassword(client, args.vncPassword !== undefined);
    if (openVnc) throw new VmxError(`client "${client.name}": ${openVnc}`);
    // Rendered before super() too: a spec VMware would reject throws here (the password only adds one line).
    const plainVmx = vmx ? renderVmx(vmx) : undefined;
    super("netboot-lab:index:Client", name, {}, opts);

    this.platform = pulumi.output(client.platform);
    this.address = pulumi.output(expectedAddress(client, network));
    this.bootFile = pulumi.output(client.bootFile);
    if (launch) {
      const qemu = new QemuProcess(
        `${name}-qemu`,
        { ...launch, args: [...launch.args], copies: launch.copies.map((copy) => ({ ...copy })), start: client.autostart },
        { parent: this },
      );
      this.serialLog = pulumi.output(launch.serialLog);
      this.qemuCommand = pulumi.output(renderQemuScript(launch));
      this.vmxPath = pulumi.output(undefined);
      this.howToStart = pulumi.output(undefined);
      this.running = qemu.running;
      this.note = qemu.note;
    } else {
      const spec = vmx!;
      const vmxText =
        spec.vnc && args.vncPassword !== undefined
          ? pulumi.secret(args.vncPassword).apply((password) => renderVmx(withVncPassword(spec, password)))
          : plainVmx!;
      const bundle = new VmxBundle(
        `${name}-vmx`,
        { folder: hostPath(client.fusion!.vmFolder, baseDir), name: spec.displayName, vmxText, start: client.autostart, generatedFiles: [spec.serialLogPath] },
        { parent: this },
      );
      this.serialLog = pulumi.output(hostPath(client.serialLog, baseDir));
      this.qemuCommand = pulumi.output(undefined);
      this.vmxPath = bundle.vmxPath;
      this.howToStart = bundle.howToStart;
      this.running = bundle.started;
      this.note = pulumi.output("");
    }
    this.registerOutputs({
      platform: this.platform,
      address: this.address,
      bootFile: this.bootFile,
      serialLog: this.serialLog,
      qemuCommand: this.qemuCommand,
      vmxPath: this.vmxPath,
      howToStart: this.howToStart,
      running: this.running,
      note: this.note,
    });
  }
}
