/**
 * The netboot-lab stack program: reads the lab from stack config (stacks/Pulumi.<stack>.yaml),
 * validates all of it before declaring anything, then declares the servers, boot images and
 * clients. `pulumi up` builds the lab; `pulumi destroy` removes it.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { NetbootServer } from "./components/netboot-server";
import { CONFIG_NAMESPACE, LabConfigError, labConfigFrom, validateLab, type LabModel } from "./lib/model";

const stack = pulumi.getStack();

function readLab(): LabModel {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  try {
    return validateLab(labConfigFrom((key) => config.getObject(key)), `stacks/Pulumi.${stack}.yaml`);
  } catch (error) {
    // A RunError is shown without a stack trace: the message already says what to fix.
    if (error instanceof LabConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

const lab = readLab();

// A remote Docker host (ssh://user@host) is how a Fusion lab reaches the layer-2 network of its
// guests; children inherit the provider from the component.
const dockerHost = lab.docker.host ? new docker.Provider("docker-host", { host: lab.docker.host }) : undefined;

const server = new NetbootServer(`nbl-${stack}`, { lab, dockerNamePrefix: lab.docker.namePrefix }, { providers: dockerHost ? [dockerHost] : [] });

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
export const clients = lab.clients.map(({ name, mac, ipv4, firmware, bootFile, rootPath }) => ({ name, mac, ipv4, firmware, bootFile, rootPath }));
