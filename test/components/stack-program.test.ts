/**
 * The real index.ts evaluated against Pulumi's mocks with each stack's real config: what
 * `pulumi up` would ask the Docker provider to create.
 */
import { afterAll, describe, expect, it } from "vitest";
import { fusionMedia } from "../support/fake-media";
import { runStack, runStackExpectingError, type DeclaredResource } from "../support/pulumi-harness";

/** The fusion stack's real config, with its media read from stand-ins of the user's files. */
const media = fusionMedia();
afterAll(() => media.cleanup());
const withMedia = { "netboot-lab:mediaDir": media.dir };

const byType = (resources: DeclaredResource[], type: string) => resources.filter((resource) => resource.type === `docker:index/${type}`);
const named = (resources: DeclaredResource[], name: string) => {
  const found = resources.find((resource) => resource.name === name);
  if (!found) throw new Error(`no resource named ${name}; declared: ${resources.map((resource) => resource.name).join(", ")}`);
  return found;
};

describe("kvm stack", async () => {
  const { resources, outputs } = await runStack("kvm");
  const serverChildren = resources.filter((resource) => resource.parent === "nbl-kvm");

  it("declares the NetbootServer component with every Docker child parented to it", () => {
    expect(named(resources, "nbl-kvm").type).toBe("netboot-lab:index:NetbootServer");
    expect(serverChildren.map((resource) => resource.name).sort()).toEqual(
      [
        "nbl-kvm-boot-tree",
        "nbl-kvm-dhcpd",
        "nbl-kvm-http",
        "nbl-kvm-image",
        "nbl-kvm-keeper",
        "nbl-kvm-leases",
        "nbl-kvm-network",
        "nbl-kvm-nfs",
        "nbl-kvm-pod",
        "nbl-kvm-radvd",
        "nbl-kvm-tftp",
      ].sort(),
    );
  });

  it("puts the lab on an isolated bridge with a fixed name that QEMU taps join", () => {
    expect(byType(resources, "network:Network").map((network) => network.inputs)).toEqual([
      expect.objectContaining({
        name: "nbl-kvm",
        driver: "bridge",
        options: { "com.docker.network.bridge.name": "nblab0", "com.docker.network.bridge.enable_ip_masquerade": "false" },
        ipamConfigs: [{ subnet: "10.77.0.0/24", gateway: "10.77.0.1" }],
      }),
    ]);
    expect(named(resources, "nbl-kvm-network").inputs.internal).toBeUndefined();
  });

  it("builds the server image from the configured base image", () => {
    const image = named(resources, "nbl-kvm-image").inputs as {
      imageName: string;
      build: { args: Record<string, string>; context: string };
      skipPush: boolean;
    };
    expect(image.imageName).toMatch(/^netboot-lab\/server:[0-9a-f]{12}$/);
    expect(image.build.args).toEqual({ BASE_IMAGE: "debian:bookworm-slim" });
    expect(image.build.context).toMatch(/images\/server$/);
    expect(image.skipPush).toBe(true);
  });

  it("gives the pod the server address and runs every daemon in its network namespace", () => {
    expect(named(resources, "nbl-kvm-pod").inputs).toMatchObject({
      name: "nbl-kvm-pod",
      networksAdvanced: [{ name: "nbl-kvm", ipv4Address: "10.77.0.2" }],
      capabilities: { drops: ["ALL"] },
      stopSignal: "SIGKILL",
    });
    for (const role of ["dhcpd", "tftp", "nfs", "http"]) {
      expect(named(resources, `nbl-kvm-${role}`).inputs.networkMode).toBe("container:nbl-kvm-pod");
    }
  });

  it("bounds every daemon's log (json-file, 3 × 10 MB), which watch reads and ganesha fills with every RPC", () => {
    for (const role of ["dhcpd", "tftp", "nfs", "http", "radvd", "keeper"])
      expect(named(resources, `nbl-kvm-${role}`).inputs.logOpts, role).toEqual({ "max-size": "10m", "max-file": "3" });
  });

  it("grants each daemon only the capabilities it needs, and none is privileged", () => {
    const capabilities = Object.fromEntries(byType(serverChildren, "container:Container").map((container) => [container.name, container.inputs.capabilities]));
    expect(capabilities).toEqual({
      "nbl-kvm-pod": { drops: ["ALL"] },
      "nbl-kvm-dhcpd": { drops: ["ALL"], adds: ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"] },
      "nbl-kvm-tftp": { drops: ["ALL"], adds: ["CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_SETUID", "CAP_SETGID"] },
      "nbl-kvm-nfs": { drops: ["ALL"], adds: ["CAP_DAC_READ_SEARCH", "CAP_SETUID", "CAP_SETGID", "CAP_NET_BIND_SERVICE"] },
      "nbl-kvm-http": { drops: ["ALL"], adds: ["CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN"] },
      "nbl-kvm-radvd": { drops: ["ALL"], adds: ["CAP_NET_RAW", "CAP_SETUID", "CAP_SETGID"] },
      "nbl-kvm-keeper": { drops: ["ALL"] },
    });
    for (const container of byType(resources, "container:Container")) expect(container.inputs.privileged).toBeUndefined();
    expect(named(resources, "nbl-kvm-nfs").inputs.securityOpts).toEqual(["seccomp=unconfined"]);
  });

  it("runs a keeper beside the pod: the CLI image, no network, the engine's socket, restarted with the engine", () => {
    const keeper = named(resources, "nbl-kvm-keeper").inputs;
    expect(keeper).toMatchObject({
      name: "nbl-kvm-keeper",
      image: named(resources, "nbl-kvm-runtime-image").inputs.imageName,
      command: ["keep", "--pod", "nbl-kvm-pod", "--socket", "/run/docker.sock"],
      networkMode: "none",
      mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/run/docker.sock" }],
      restart: "unless-stopped",
    });
    // Its --pod argument is only a name: without the edge the engine could create it first, or delete the pod under it.
    expect(named(resources, "nbl-kvm-keeper").dependsOn).toEqual(["nbl-kvm-pod"]);
  });

  it("runs no keeper with docker.keeper: false, and mounts a rootless engine's socket where docker.socket says", async () => {
    const without = await runStack("kvm", { configOverrides: { "netboot-lab:docker": { keeper: false } } });
    expect(without.resources.map((resource) => resource.name)).not.toContain("nbl-kvm-keeper");
    const rootless = await runStack("kvm", { configOverrides: { "netboot-lab:docker": { socket: "/run/user/1000/docker.sock" } } });
    expect(named(rootless.resources, "nbl-kvm-keeper").inputs.mounts).toEqual([
      { type: "bind", source: "/run/user/1000/docker.sock", target: "/run/docker.sock" },
    ]);
  });

  it("mounts the boot tree read-only into TFTP, NFS and HTTP and the leases volume into dhcpd", () => {
    const mounts = (name: string) => named(resources, name).inputs.mounts;
    const bootTree = { type: "volume", source: "nbl-kvm-boot-tree", target: "/srv/netboot", readOnly: true };
    expect(mounts("nbl-kvm-tftp")).toEqual([bootTree]);
    expect(mounts("nbl-kvm-nfs")).toEqual([bootTree]);
    expect(mounts("nbl-kvm-http")).toEqual([bootTree]);
    expect(mounts("nbl-kvm-dhcpd")).toEqual([{ type: "volume", source: "nbl-kvm-leases", target: "/var/lib/dhcp", readOnly: false }]);
  });

  it("uploads the rendered dhcpd.conf and listens on the lab interface only", () => {
    const dhcpd = named(resources, "nbl-kvm-dhcpd").inputs as { uploads: { file: string; content: string }[]; command: string[] };
    expect(dhcpd.uploads.map((upload) => upload.file)).toEqual(["/etc/netboot-lab/dhcpd/dhcpd.conf"]);
    expect(dhcpd.uploads[0]!.content).toContain("host bios-ipxe {\n    hardware ethernet 52:54:00:77:00:10;\n    fixed-address 10.77.0.10;");
    expect(dhcpd.command.at(-1)).toBe("eth0");
  });

  it("runs every container of the stack without privileges and with all capabilities dropped, and builds each boot image as its own resource", () => {
    const containers = byType(resources, "container:Container");
    const builds = resources.filter((resource) => resource.type === "pulumi-nodejs:dynamic:Resource");
    expect(builds.map((build) => build.name)).toEqual(["nbl-kvm-linux-ipxe-build", "nbl-kvm-linux-grub-build", "nbl-kvm-linux-pxelinux-build"]);
    for (const container of containers) {
      expect(container.inputs.privileged, container.name).toBeUndefined();
      expect((container.inputs.capabilities as { drops: string[] }).drops, container.name).toEqual(["ALL"]);
    }
  });

  it("exports what a user needs next", () => {
    expect(outputs).toMatchObject({
      serverAddress: "10.77.0.2",
      network: { subnet: "10.77.0.0/24", mode: "bridge", bridge: "nblab0" },
      bootTreeVolume: "nbl-kvm-boot-tree",
      leasesVolume: "nbl-kvm-leases",
      containers: { pod: "nbl-kvm-pod", dhcpd: "nbl-kvm-dhcpd", tftp: "nbl-kvm-tftp", nfs: "nbl-kvm-nfs", http: "nbl-kvm-http" },
      commands: { dhcpdLog: "docker logs -f nbl-kvm-dhcpd" },
    });
    expect(Object.keys(outputs.configs as object)).toEqual(expect.arrayContaining(["dhcpd/dhcpd.conf", "nfs/ganesha.conf", "http/nginx.conf", "lab.json"]));
    expect(outputs.clients).toContainEqual(expect.objectContaining({ name: "efi-grub", bootFile: "linux-grub/boot/grub/x86_64-efi/core.efi" }));
  });
});

describe("fusion stack", async () => {
  const { resources, outputs } = await runStack("fusion", { configOverrides: { ...withMedia, "netboot-lab:vncPassword": "Vnc8pass" } });

  it("reaches the Docker host over SSH through an explicit provider every server child uses", () => {
    const provider = resources.find((resource) => resource.type === "pulumi:providers:docker");
    expect(provider?.inputs.host).toBe("ssh://lab@netboot-host.local");
    for (const child of resources.filter((resource) => resource.parent === "nbl-fusion" && resource.type.startsWith("docker:"))) {
      expect(child.provider, child.name).toBe(provider?.name);
    }
  });

  it("puts the servers on the guests' layer-2 network through macvlan", () => {
    expect(named(resources, "nbl-fusion-network").inputs).toMatchObject({
      driver: "macvlan",
      options: { parent: "eth1" },
      ipamConfigs: [{ subnet: "10.0.0.0/24", gateway: "10.0.0.1" }],
    });
    expect(named(resources, "nbl-fusion-pod").inputs.networksAdvanced).toEqual([{ name: "nbl-fusion", ipv4Address: "10.0.0.28" }]);
  });

  it("builds the NetBoot image with an mkext that holds the e1000 driver the Mac client needs", () => {
    const snow = (outputs.bootImages as Record<string, { kexts: string[]; nicChecks: { client: string; nic: string; ok: boolean }[] }>)["snow-leopard"]!;
    expect(snow.kexts).toContain("com.apple.driver.AppleIntel8254XEthernet");
    expect(snow.nicChecks).toEqual([expect.objectContaining({ client: "snowleopard-server", nic: "vmware-e1000", ok: true })]);
    expect(
      resources
        .filter((resource) => resource.type === "netboot-lab:index:BootImage")
        .map((resource) => resource.name)
        .sort(),
    ).toEqual(["nbl-fusion-netbsd", "nbl-fusion-snow-leopard"]);
  });
});

describe("fusion stack problems found before deployment", () => {
  it("a client NIC without a driver in its image stops the program, naming client, NIC, PCI IDs and the fix", async () => {
    const clients = [
      { name: "mac", platform: "fusion", mac: "00:50:56:00:00:28", ipv4: "10.0.0.40", firmware: "efi-x64", nic: "vmware-vmxnet3", bootImage: "snow-leopard" },
    ];
    const { error, resources } = await runStackExpectingError("fusion", { configOverrides: { ...withMedia, "netboot-lab:clients": clients } });
    expect(error.message).toMatch(/mac/);
    expect(error.message).toMatch(/vmware-vmxnet3/);
    expect(error.message).toMatch(/15ad:07b0/i);
    expect(resources.filter((resource) => resource.type !== "pulumi:providers:docker")).toEqual([]);
  });

  it("a missing file from the user's media is named before anything is declared", async () => {
    const { error, resources } = await runStackExpectingError("fusion", { configOverrides: { "netboot-lab:vncPassword": "lab-vnc" } });
    expect(error.message).toMatch(
      /bootImages\[0\]\.booter: \S+\/media\/10\.6\/usr\/standalone\/i386\/boot\.efi does not exist; fix the path in the stack config \(relative paths are read from netboot-lab:mediaDir/,
    );
    expect(error.message).toMatch(/bootImages\[1\]\.pxeboot: \S+\/media\/netbsd-5\/pxeboot_ia32\.bin does not exist/);
    expect(resources).toEqual([]);
  });
});

describe("invalid stacks", () => {
  it("fail before any resource is declared, naming the field and the fix", async () => {
    const { error, resources } = await runStackExpectingError("kvm", {
      configOverrides: { "netboot-lab:clients": [{ name: "vm1", mac: "52:54:00:77:00:10", ipv4: "10.77.0.200", bootImage: "nope" }] },
    });
    expect(error.message).toContain('clients[0].bootImage: "nope" is not defined under bootImages; use one of linux-ipxe, linux-grub, linux-pxelinux');
    expect(error.message).toContain("clients[0].ipv4: 10.77.0.200 lies inside the dynamic pool");
    expect(resources).toEqual([]);
  });
});
