/**
 * NetbootServer: the lab network and the ISC dhcpd, TFTP, NFS and HTTP servers, each in its
 * own container. All daemons share the network namespace of one small "pod" container that
 * owns the lab address, so the whole lab answers on a single server address (next-server,
 * root-path and URLs all name it) and a daemon can restart without the address moving.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { imageTag } from "../../lib/image-tag";
import type { LabModel } from "../../lib/model";
import { LAB_LABEL, labDockerNames, ROLE_LABEL } from "../../lib/lab-names";
import { renderLabFiles } from "../../lib/render-lab";
import { dhcpServers, labServers, type ServerContainerSpec, type VolumeRole } from "../../lib/servers";
import { KEEPER_SOCKET_PATH, keeperServer, type KeeperContainerSpec } from "../../lib/servers/keeper";

export { LAB_LABEL, ROLE_LABEL };

const SERVER_IMAGE_DIR = join(__dirname, "..", "..", "images", "server");

export interface NetbootServerArgs {
  /**
   * The validated lab description (from `validateLab` / `loadStackLab`): network, servers,
   * clients and boot images. Validation happens before this component is constructed, so an
   * invalid stack never reaches Docker.
   */
  readonly lab: LabModel;
  /**
   * Prefix of the Docker names (network, volumes, containers) on the Docker host.
   * Default: the component's name. Two labs on one Docker host need different prefixes.
   */
  readonly dockerNamePrefix?: string;
  /**
   * Image with Node.js and the bundled netboot-lab CLI (`BootImageBuilder.imageName`): runs the
   * keeper and the BSDP responder. Required unless `docker.keeper` is false and the lab answers
   * no BSDP (no darwin-nbi image, or `bsdp.enabled: false`).
   */
  readonly cliImage?: pulumi.Input<string>;
}

export class NetbootServer extends pulumi.ComponentResource {
  /** Address every lab server answers on (dhcpd's next-server, TFTP, NFS, HTTP). */
  public readonly serverAddress: pulumi.Output<string>;
  /** The lab subnet in CIDR form. */
  public readonly subnet: pulumi.Output<string>;
  /** Linux bridge of the lab network (bridge mode): attach QEMU taps here (`-netdev bridge,br=…`). */
  public readonly bridge: pulumi.Output<string | undefined>;
  /** Docker network the servers sit on. */
  public readonly networkName: pulumi.Output<string>;
  /** Docker volume holding the boot tree that TFTP, NFS and HTTP serve; BootImage builds into it. */
  public readonly bootTreeVolume: pulumi.Output<string>;
  /** Docker volume holding dhcpd's leases; survives container replacement. */
  public readonly leasesVolume: pulumi.Output<string>;
  /** The server image every daemon runs. */
  public readonly imageName: pulumi.Output<string>;
  /** Rendered configs by path (`dhcpd/dhcpd.conf`, …, `lab.json`): exactly what `netboot-lab render` writes. */
  public readonly configs: pulumi.Output<Record<string, string>>;
  /** Container name of each daemon by role (`dhcpd`, `tftp`, `nfs`, `http`, …), of the pod and of the keeper. */
  public readonly containers: pulumi.Output<Record<string, string>>;
  /** Commands a user needs next: following dhcpd's log, attaching a QEMU guest. */
  public readonly commands: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: NetbootServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("netboot-lab:index:NetbootServer", name, {}, opts);
    const { lab } = args;
    const names = labDockerNames(args.dockerNamePrefix ?? name);
    const prefix = names.prefix;
    const labels = (role: string) => [
      { label: LAB_LABEL, value: prefix },
      { label: ROLE_LABEL, value: role },
    ];
    const child = { parent: this };

    const network = new docker.Network(
      `${name}-network`,
      {
        name: names.network,
        ...(lab.network.mode === "bridge"
          ? {
              driver: "bridge",
              options: {
                "com.docker.network.bridge.name": lab.network.bridge,
                // Not --internal: Docker's isolation rules for internal networks drop DHCP
                // broadcasts (source 0.0.0.0) from taps on the bridge. Without masquerading the
                // lab still has no way out, and dhcpd hands clients no router.
                "com.docker.network.bridge.enable_ip_masquerade": "false",
              },
            }
          : { driver: "macvlan", options: { parent: lab.network.parentInterface ?? "" } }),
        ipamConfigs: [{ subnet: lab.network.subnet, ...(lab.network.gateway ? { gateway: lab.network.gateway } : {}) }],
        labels: labels("network"),
      },
      child,
    );

    const volumes: Record<VolumeRole, docker.Volume> = {
      bootTree: new docker.Volume(`${name}-boot-tree`, { name: names.bootTreeVolume, labels: labels("boot-tree") }, child),
      leases: new docker.Volume(`${name}-leases`, { name: names.leasesVolume, labels: labels("leases") }, { ...child, retainOnDelete: false }),
    };

    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: `netboot-lab/server:${serverImageTag(lab.docker.baseImage)}`,
        build: {
          context: SERVER_IMAGE_DIR,
          dockerfile: join(SERVER_IMAGE_DIR, "Dockerfile"),
          args: { BASE_IMAGE: lab.docker.baseImage },
          platform: "linux/amd64",
        },
        skipPush: true,
      },
      child,
    );

    const pod = new docker.Container(
      `${name}-pod`,
      {
        name: names.pod,
        image: image.imageName,
        entrypoints: ["sleep", "infinity"],
        // sleep as PID 1 ignores SIGTERM, and the pod holds no state: stopping it (destroy, replacement, an engine restart) need not wait 10 s.
        stopSignal: "SIGKILL",
        capabilities: { drops: ["ALL"] },
        restart: "unless-stopped",
        // Docker turns IPv6 off in containers on an IPv4-only network; radvd (bridge mode) needs its link-local address.
        ...(lab.network.mode === "bridge" ? { sysctls: { "net.ipv6.conf.all.disable_ipv6": "0" } } : {}),
        hostname: prefix,
        networksAdvanced: [{ name: network.name, ipv4Address: lab.network.serverAddress }],
        labels: labels("pod"),
      },
      child,
    );

    const imageOf = (spec: Pick<ServerContainerSpec, "role" | "image">): pulumi.Input<string> => {
      if (spec.image !== "cli") return image.imageName;
      if (!args.cliImage) throw new Error(`NetbootServer ${name}: the ${spec.role} runs the netboot-lab CLI; pass cliImage (a BootImageBuilder's imageName)`);
      return args.cliImage;
    };
    const placement = { pod: pod.id, volumes: { bootTree: volumes.bootTree.name, leases: volumes.leases.name } };
    const daemons = labServers(lab).map(
      (spec) =>
        [
          spec.role,
          serverContainer(
            `${name}-${spec.role}`,
            spec,
            { ...placement, image: imageOf(spec), name: names.container(spec.role), labels: labels(spec.role) },
            child,
          ),
        ] as const,
    );

    const keeper = (lab.docker.keeper ? [keeperServer(names.pod, lab.docker.socket)] : []).map(
      (spec) =>
        [
          spec.role,
          keeperContainer(
            `${name}-${spec.role}`,
            spec,
            { image: imageOf({ role: spec.role, image: "cli" }), name: names.container(spec.role), labels: labels(spec.role) },
            // The keeper finds its pod by Docker name alone: the edge makes the engine create it
            // after the pod and delete it before.
            { ...child, dependsOn: [pod] },
          ),
        ] as const,
    );

    this.serverAddress = pulumi.output(lab.network.serverAddress);
    this.subnet = pulumi.output(lab.network.subnet);
    this.bridge = pulumi.output(lab.network.mode === "bridge" ? lab.network.bridge : undefined);
    this.networkName = network.name;
    this.bootTreeVolume = volumes.bootTree.name;
    this.leasesVolume = volumes.leases.name;
    this.imageName = image.imageName;
    this.configs = pulumi.output(Object.fromEntries(renderLabFiles(lab).map((file) => [file.path, file.content])));
    const containers = [["pod", pod] as const, ...daemons, ...keeper];
    this.containers = pulumi
      .all(containers.map(([, container]) => container.name))
      .apply((containerNames): Record<string, string> => Object.fromEntries(containers.map(([role], index) => [role, containerNames[index]!])));
    const commands: Record<string, string> = { dhcpdLog: `docker logs -f ${names.container(dhcpServers(lab).running.role)}` };
    if (lab.network.mode === "bridge") {
      commands.qemuNetwork = `-netdev bridge,id=lab,br=${lab.network.bridge} -device e1000,netdev=lab,mac=<client mac>`;
    }
    this.commands = pulumi.output(commands);
    this.registerOutputs({
      serverAddress: this.serverAddress,
      subnet: this.subnet,
      bridge: this.bridge,
      networkName: this.networkName,
      bootTreeVolume: this.bootTreeVolume,
      leasesVolume: this.leasesVolume,
      imageName: this.imageName,
      configs: this.configs,
      containers: this.containers,
      commands: this.commands,
    });
  }
}

/** The tag changes whenever the Dockerfile or the base image does, so containers follow a rebuilt image. */
function serverImageTag(baseImage: string): string {
  return imageTag(readFileSync(join(SERVER_IMAGE_DIR, "Dockerfile")), baseImage);
}

/** Where a daemon's container goes: its Docker name, the server image, the pod whose network namespace it joins, the lab's volumes. */
export interface ServerPlacement {
  readonly name: string;
  readonly image: pulumi.Input<string>;
  /** Id of the pod container (`network_mode: container:<id>`). */
  readonly pod: pulumi.Input<string>;
  /** Docker volume of each role the spec mounts. */
  readonly volumes: Readonly<Partial<Record<VolumeRole, pulumi.Input<string>>>>;
  readonly labels: readonly { label: string; value: string }[];
}

/** One daemon's container as its spec says: all capabilities dropped but the spec's, in the pod's namespace, configs uploaded before the first start. */
export function serverContainer(
  resourceName: string,
  spec: ServerContainerSpec,
  placement: ServerPlacement,
  opts: pulumi.CustomResourceOptions,
): docker.Container {
  const volumeOf = (role: VolumeRole) => {
    const volume = placement.volumes[role];
    if (volume === undefined) throw new Error(`${resourceName}: the ${spec.role} spec mounts the ${role} volume, but the placement names none`);
    return volume;
  };
  return new docker.Container(
    resourceName,
    {
      ...runsAlike(spec, placement),
      networkMode: pulumi.interpolate`container:${placement.pod}`,
      capabilities: { drops: ["ALL"], ...(spec.capabilities.length ? { adds: [...spec.capabilities] } : {}) },
      ...(spec.securityOpts.length ? { securityOpts: [...spec.securityOpts] } : {}),
      ...(Object.keys(spec.tmpfs).length ? { tmpfs: { ...spec.tmpfs } } : {}),
      mounts: spec.mounts.map((mount) => ({ type: "volume", source: volumeOf(mount.volume), target: mount.target, readOnly: mount.readOnly })),
      uploads: spec.files.map((file) => ({ file: file.path, content: file.content, executable: file.executable ?? false })),
    },
    opts,
  );
}

/**
 * What the daemons' and the keeper's containers declare alike: name, image, argv, labels, the
 * restart policy that brings them back by themselves, and a bound on their logs, which `watch`
 * reads and which would otherwise grow for as long as the lab runs (ganesha logs every RPC).
 */
function runsAlike(
  spec: Pick<ServerContainerSpec, "entrypoint" | "command">,
  placement: Pick<ServerPlacement, "image" | "name" | "labels">,
): Pick<docker.ContainerArgs, "name" | "image" | "entrypoints" | "command" | "restart" | "labels" | "logOpts"> {
  return {
    name: placement.name,
    image: placement.image,
    entrypoints: [...spec.entrypoint],
    command: [...spec.command],
    restart: "unless-stopped",
    labels: [...placement.labels],
    logOpts: { ...DAEMON_LOG_ROTATION },
  };
}

/** json-file rotation: at most 3 files of 10 MB per daemon. */
const DAEMON_LOG_ROTATION = { "max-size": "10m", "max-file": "3" };

/** The keeper's container: no network, every capability dropped, the engine's socket mounted. */
function keeperContainer(
  resourceName: string,
  spec: KeeperContainerSpec,
  placement: Pick<ServerPlacement, "image" | "name" | "labels">,
  opts: pulumi.CustomResourceOptions,
): docker.Container {
  return new docker.Container(
    resourceName,
    {
      ...runsAlike(spec, placement),
      networkMode: "none",
      capabilities: { drops: ["ALL"] },
      mounts: [{ type: "bind", source: spec.engineSocket, target: KEEPER_SOCKET_PATH }],
    },
    opts,
  );
}
