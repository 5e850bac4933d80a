/**
 * The netboot-lab stack program: reads the lab from stack config (stacks/Pulumi.<stack>.yaml),
 * validates all of it before declaring anything, then declares the servers, boot images and
 * clients. `pulumi up` builds the lab; `pulumi destroy` removes it.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { BootImage, BootImageBuilder, LabRuntimeImage, planLabPayloads } from "./components/boot-image";
import { Client } from "./components/client";
import { NetbootServer } from "./components/netboot-server";
import { formatImageId } from "./lib/bsdp/image-id";
import { planQemuClient } from "./lib/client/plan";
import { probeQemuHost, qemuHostProblems, QemuHostError } from "./lib/client/qemu-host";
import { UserError } from "./lib/errors";
import { labNamePrefix } from "./lib/lab-names";
import { CONFIG_NAMESPACE, labFromEngineConfig } from "./lib/model";

const stack = pulumi.getStack();

/** Errors the user fixes (UserError: the stack, their media, their archives) become RunErrors: shown without a stack trace. */
function explained<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof UserError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

const config = new pulumi.Config(CONFIG_NAMESPACE);
// Every key the engine passes, read as `netboot-lab render` reads the stack file (loadStackLab),
// so both accept and refuse the same stacks.
const lab = explained(() => labFromEngineConfig(pulumi.runtime.allConfig(), `stacks/Pulumi.${stack}.yaml`));
// Every boot image is planned before anything is declared: a missing file from the user's media,
// or a client NIC without a driver in its image, stops the preview here.
const bootImagePlans = explained(() => planLabPayloads(lab, lab.mediaDir));
// QEMU guests run on this machine: QEMU, their firmware and the way onto the lab bridge must be
// here before anything is declared. Relative run folders resolve from the project folder.
const qemuHost = probeQemuHost();
const qemuLaunches = explained(() => {
  const problems = qemuHostProblems(lab.clients, lab.network.bridge, qemuHost);
  if (problems.length) throw new QemuHostError(problems);
  return Object.fromEntries(
    lab.clients.filter((client) => client.qemu).map((client) => [client.name, planQemuClient(client, lab.network, process.cwd(), qemuHost)]),
  );
});

// The VNC password is a secret the model never holds; whether it is set was checked with the rest.
const vncPassword = config.getSecret("vncPassword");

// A remote Docker host (ssh://user@host) is how a Fusion lab reaches the layer-2 network of its
// guests; children inherit the provider from the component.
const dockerHost = lab.docker.host ? new docker.Provider("docker-host", { host: lab.docker.host }) : undefined;

const providers = dockerHost ? [dockerHost] : [];

// Two images carry netboot-lab code, each only its part, so an edit elsewhere in the CLI changes
// neither: the builder (`payload build`) and the runtime image the keeper and BSDP responder run.
const builder = new BootImageBuilder(`nbl-${stack}-builder`, { baseImage: lab.docker.baseImage }, { providers });
const runtime = new LabRuntimeImage(`nbl-${stack}-runtime`, { baseImage: lab.docker.baseImage }, { providers });

const server = new NetbootServer(`nbl-${stack}`, { lab, dockerNamePrefix: labNamePrefix(stack, lab.docker), cliImage: runtime.imageName }, { providers });
const bootImageResources = lab.bootImages.map(
  (image) =>
    new BootImage(
      `nbl-${stack}-${image.name}`,
      {
        image,
        bootFiles: lab.bootFileSets[image.name]!,
        plan: bootImagePlans[image.name],
        bootTreeVolume: server.bootTreeVolume,
        builderImage: builder.imageName,
        builderSource: builder.source,
        // Refresh and delete of a build run in the image the lab's daemons keep on the engine.
        toolImage: server.imageName,
        dockerHost: lab.docker.host,
      },
      { providers },
    ),
);

// Clients start once the servers run and every boot image is built. They run on this machine
// (QEMU) or this Mac (Fusion), never through the Docker provider.
const clientResources = lab.clients.map(
  (client) =>
    new Client(
      `nbl-${stack}-${client.name}`,
      { client, network: lab.network, qemuLaunch: qemuLaunches[client.name], vncPassword },
      { dependsOn: [server, ...bootImageResources] },
    ),
);

export const serverAddress = server.serverAddress;
/** How clients join the lab: a bridge for QEMU taps, or the host interface VMware guests are bridged to. */
export const network =
  lab.network.mode === "bridge"
    ? { subnet: lab.network.subnet, mode: "bridge", bridge: lab.network.bridge }
    : { subnet: lab.network.subnet, mode: "macvlan", parentInterface: lab.network.parentInterface };
export const bootTreeVolume = server.bootTreeVolume;
export const leasesVolume = server.leasesVolume;
export const containers = server.containers;
export const commands = server.commands;
export const configs = server.configs;
/** Per client: what dhcpd knows of it, where its serial console goes, and how it runs (the QEMU command or the .vmx). */
export const clients = lab.clients.map(({ name, mac, ipv4, platform, firmware, nic, bootFile, rootPath }, index) => {
  const client = clientResources[index]!;
  return {
    name,
    mac,
    ipv4,
    platform,
    firmware,
    nic,
    bootFile,
    rootPath,
    address: client.address,
    serialLog: client.serialLog,
    running: client.running,
    ...(platform === "qemu" ? { qemuCommand: client.qemuCommand, note: client.note } : { vmxPath: client.vmxPath, howToStart: client.howToStart }),
  };
});
export const bootImages = Object.fromEntries(
  bootImageResources.map((bootImage, index) => [
    lab.bootImages[index]!.name,
    { bootFiles: bootImage.bootFiles, rootPath: bootImage.rootPath, kexts: bootImage.kexts, nicChecks: bootImage.nicChecks },
  ]),
);
/** What Macs are offered over BSDP: each darwin-nbi image's ID (as `bsdp list` prints it) and the default. */
export const bsdp = {
  enabled: lab.bsdp.enabled,
  serverPriority: lab.bsdp.serverPriority,
  defaultImage: lab.bsdp.defaultImageId === undefined ? null : formatImageId(lab.bsdp.defaultImageId),
  images: Object.fromEntries(lab.bsdp.images.map((image) => [image.bootImage, { id: formatImageId(image.id), name: image.name }])),
};
