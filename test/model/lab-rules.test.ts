/**
 * Stacks that used to validate and then fail at boot or on the Docker host: a file no enabled
 * server serves, text that breaks a generated file, a path that leads out of its folder, the
 * keeper mounting a folder as the engine socket, a pool dhcpd cannot hold, a bridge that is not
 * the lab's. Each rule names the field and the fix.
 */
import { describe, expect, it } from "vitest";
import { validateLab, type HostInterface, type HostInterfaceProbe } from "../../lib/model";
import { minimalLab, problemsOf } from "./fixtures";

const darwinImage = { name: "snow", kind: "darwin-nbi" as const, booter: "b", kernel: "k", extensions: ["E"], rootImage: "r.dmg" };
const macClient = { name: "mac", mac: "00:50:56:00:00:01", ipv4: "10.77.0.11", platform: "fusion" as const, firmware: "efi-x64" as const, bootImage: "snow" };

describe("every file a client is sent has an enabled server", () => {
  it("refuses clients whose boot files go over TFTP when TFTP is off", () => {
    const clients = [
      { name: "vm1", mac: "52:54:00:00:00:01", ipv4: "10.77.0.10", bootImage: "linux" },
      { name: "vm2", mac: "52:54:00:00:00:02", ipv4: "10.77.0.11", firmware: "efi-x64" as const, bootImage: "linux" },
    ];
    expect(problemsOf(minimalLab({ servers: { tftp: { enabled: false } }, clients }))).toEqual([
      "servers.tftp.enabled: is false, but clients vm1 (linux/undionly.kpxe), vm2 (linux/ipxe.efi) are sent boot files that their firmware fetches over TFTP, the only protocol a PXE firmware loads its first file with; set servers.tftp.enabled: true",
    ]);
  });

  it("refuses BSDP answers naming booters over TFTP when TFTP is off, even without a declared Mac", () => {
    expect(problemsOf(minimalLab({ servers: { tftp: { enabled: false } }, bootImages: [darwinImage], clients: [] }))).toEqual([
      "bsdp.enabled: answers Macs with the booters of snow, which they fetch over TFTP, but servers.tftp.enabled is false; set servers.tftp.enabled: true, or bsdp.enabled: false",
    ]);
    expect(
      validateLab(minimalLab({ servers: { tftp: { enabled: false } }, bootImages: [darwinImage], clients: [], bsdp: { enabled: false } })).bsdp.enabled,
    ).toBe(false);
  });

  it("refuses an NFS root when NFS is off, with the way out each kind of image has", () => {
    const nfsOff = { nfs: { enabled: false } };
    expect(problemsOf(minimalLab({ servers: nfsOff, bootImages: [{ name: "linux", kind: "grub", nfsRoot: true }] }))).toEqual([
      'servers.nfs.enabled: is false, but boot image "linux" mounts its root over NFS (root-path 10.77.0.2:/netboot/linux/root) for vm1; set servers.nfs.enabled: true, or nfsRoot: false on bootImages[0]',
    ]);
    expect(problemsOf(minimalLab({ servers: nfsOff, bootImages: [darwinImage], clients: [macClient] }))).toEqual([
      'servers.nfs.enabled: is false, but boot image "snow" mounts its root over NFS (root-path nfs:10.77.0.2:/netboot:snow/snow.nbi/r.dmg) for mac, Macs that choose it over BSDP; set servers.nfs.enabled: true, or protocol: http on bootImages[0] with servers.http.enabled: true',
    ]);
    const netbsd = { name: "bsd", kind: "netbsd" as const, pxeboot: "p", kernel: "k" };
    expect(
      problemsOf(
        minimalLab({ servers: nfsOff, bootImages: [netbsd], clients: [{ name: "vm1", mac: "52:54:00:00:00:01", ipv4: "10.77.0.10", bootImage: "bsd" }] }),
      ),
    ).toEqual([
      'servers.nfs.enabled: is false, but boot image "bsd" mounts its root over NFS (root-path 10.77.0.2:/netboot/bsd/root) for vm1; set servers.nfs.enabled: true',
    ]);
  });

  it("accepts NFS off when no client mounts a root over it: no nfsRoot, or a Darwin root over HTTP", () => {
    expect(validateLab(minimalLab({ servers: { nfs: { enabled: false } } })).clients[0]!.rootPath).toBeUndefined();
    const lab = validateLab(minimalLab({ servers: { nfs: { enabled: false } }, bootImages: [{ ...darwinImage, protocol: "http" }], clients: [macClient] }));
    expect(lab.clients[0]!.rootPath).toBe("http://10.77.0.2/snow/snow.nbi/r.dmg");
  });
});

describe("text that lands in generated files", () => {
  it("refuses a newline in a kernel command line, which would start a line of its own in the iPXE or GRUB script", () => {
    const bootImages = [{ name: "linux", kind: "ipxe" as const, linux: { cmdline: "console=ttyS0\nchain http://evil/x" } }];
    expect(problemsOf(minimalLab({ bootImages }))).toEqual([
      "bootImages[0].linux.cmdline: contains a newline; the lab writes this value into generated files (dhcpd.conf, boot scripts, plists, .vmx), where it would break the line it stands on: write it on one line, without control characters",
    ]);
  });

  it("refuses in a kernel command line what GRUB's and iPXE's scripts would act on", () => {
    for (const [kind, cmdline, character] of [
      ["grub", "console=ttyS0; reboot", ";"],
      ["ipxe", "console=ttyS0 ${net0/ip}", "$"],
      ["pxelinux", "quiet || shell", "|"],
    ] as const) {
      expect(problemsOf(minimalLab({ bootImages: [{ name: "linux", kind, linux: { cmdline } }] })), kind).toEqual([
        `bootImages[0].linux.cmdline: contains '${character}', which the GRUB and iPXE scripts the lab writes the command line into would take as their own syntax (a command separator, pipe, redirection, variable or block); leave it out of the kernel's parameters`,
      ]);
    }
    expect(
      validateLab(minimalLab({ bootImages: [{ name: "linux", kind: "grub", linux: { cmdline: 'console=ttyS0,115200 dyndbg="file x +p" init=/sbin/init' } }] }))
        .bootImages,
    ).toHaveLength(1);
  });

  it("refuses control characters in every string field, names included by their path", () => {
    const problems = problemsOf(
      minimalLab({
        docker: { baseImage: "debian:bookworm\r" },
        network: { subnet: "10.77.0.0/24", domainName: "lab\u0007" },
        bootImages: [{ ...darwinImage, description: "Snow\tLeopard" }],
        clients: [],
      }),
    );
    expect(problems).toEqual([
      "network.domainName: contains the control character U+0007; the lab writes this value into generated files (dhcpd.conf, boot scripts, plists, .vmx), where it would break the line it stands on: write it on one line, without control characters",
      "docker.baseImage: contains a carriage return; the lab writes this value into generated files (dhcpd.conf, boot scripts, plists, .vmx), where it would break the line it stands on: write it on one line, without control characters",
      "bootImages[0].description: contains a tab; the lab writes this value into generated files (dhcpd.conf, boot scripts, plists, .vmx), where it would break the line it stands on: write it on one line, without control characters",
    ]);
  });

  it("refuses '..' in the paths the lab exports, mounts and writes", () => {
    const problems = problemsOf(
      minimalLab({
        servers: { nfs: { exportPath: "/../etc" } },
        docker: { socket: "/var/run/../../etc/docker.sock" },
        qemu: { runDir: "run/../../elsewhere" },
        fusion: { vmFolder: "~/VMs/.." },
      }),
    );
    expect(problems).toEqual([
      "servers.nfs.exportPath: \"/../etc\" has a '..' segment; the path goes as it is into the NFS export and every client's root-path, where '..' leads out of the folder it names: write it without '..'",
      "docker.socket: \"/var/run/../../etc/docker.sock\" has a '..' segment; the path goes as it is into the keeper container's mount of the Docker engine's socket, where '..' leads out of the folder it names: write it without '..'",
      "qemu.runDir: \"run/../../elsewhere\" has a '..' segment; the path goes as it is into the paths of each QEMU guest's logs and QMP socket, where '..' leads out of the folder it names: write it without '..'",
      "fusion.vmFolder: \"~/VMs/..\" has a '..' segment; the path goes as it is into the path of each Fusion VM's bundle and serial log, where '..' leads out of the folder it names: write it without '..'",
    ]);
  });
});

describe("docker.socket", () => {
  it("refuses a folder, which the keeper would mount in place of the engine's socket", () => {
    for (const socket of ["/", "/etc", "/var/run/docker.sock/"]) {
      expect(problemsOf(minimalLab({ docker: { socket } })), socket).toEqual([
        `docker.socket: "${socket}" is not the path of a socket file: the keeper container mounts it to reach the Docker engine, so a folder such as / or /etc would hand it the host's files; name the engine's API socket, a file ending in .sock, e.g. /var/run/docker.sock (rootless Docker: /run/user/<uid>/docker.sock)`,
      ]);
    }
  });

  it("accepts the engine sockets of rootful and rootless Docker", () => {
    for (const socket of ["/var/run/docker.sock", "/run/user/1000/docker.sock"])
      expect(validateLab(minimalLab({ docker: { socket } })).docker.socket).toBe(socket);
  });
});

describe("dynamic pools", () => {
  it("derives at most 65,536 addresses for a large subnet, the upper end of its hosts", () => {
    const lab = validateLab(minimalLab({ network: { subnet: "10.0.0.0/8" }, clients: [] }));
    expect(lab.network.pools).toEqual([{ start: "10.254.255.255", end: "10.255.255.254", size: 65536 }]);
  });

  it("refuses pools that hold more than 65,536 addresses in all, naming the cap", () => {
    const network = {
      subnet: "10.0.0.0/8",
      pools: [
        { start: "10.1.0.0", end: "10.1.255.255" },
        { start: "10.2.0.0", end: "10.2.0.0" },
      ],
    };
    expect(problemsOf(minimalLab({ network, clients: [] }))).toEqual([
      "network.pools: hold 65537 addresses, more than the 65,536 netboot-lab allows: dhcpd keeps a lease record for every pool address from its start; shrink the pools",
    ]);
    expect(validateLab(minimalLab({ network: { ...network, pools: [network.pools[0]!] }, clients: [] })).network.pools[0]!.size).toBe(65536);
  });
});

/** A machine whose interfaces are `interfaces`; anything else does not exist. */
function machineWith(interfaces: Record<string, HostInterface>): HostInterfaceProbe {
  return (name) => interfaces[name];
}

describe("network.bridge is the lab's own", () => {
  it("refuses Docker's own bridges by name", () => {
    expect(problemsOf(minimalLab({ network: { subnet: "10.77.0.0/24", bridge: "docker0" } }))).toEqual([
      "network.bridge: docker0 is a bridge Docker names and manages for its default network; the lab needs a bridge of its own: pick another name, e.g. nblab0",
    ]);
    expect(problemsOf(minimalLab({ network: { subnet: "10.77.0.0/24", bridge: "br-0123456789ab" } }))).toEqual([
      "network.bridge: br-0123456789ab is a bridge Docker names and manages for one of its networks; the lab needs a bridge of its own: pick another name, e.g. nblab0",
    ]);
  });

  it("refuses an interface this machine already has that is not the lab's bridge", () => {
    const hostInterface = machineWith({ eth0: { bridge: false, ipv4: ["192.168.1.5"] }, virbr0: { bridge: true, ipv4: ["192.168.122.1"] } });
    expect(problemsOf(minimalLab({ network: { subnet: "10.77.0.0/24", bridge: "eth0" } }), { hostInterface })).toEqual([
      "network.bridge: eth0 is already an interface on this machine and not this lab's bridge (not a bridge; the lab's bridge carries its gateway 10.77.0.1); Docker would fail to create the lab network or take that interface over: pick a name no interface has, e.g. nblab1 (if it is this lab's bridge from before a change of network.subnet or network.gateway, remove the lab first with pulumi destroy)",
    ]);
    expect(problemsOf(minimalLab({ network: { subnet: "10.77.0.0/24", bridge: "virbr0" } }), { hostInterface })).toEqual([
      "network.bridge: virbr0 is already an interface on this machine and not this lab's bridge (a bridge with 192.168.122.1; the lab's bridge carries its gateway 10.77.0.1); Docker would fail to create the lab network or take that interface over: pick a name no interface has, e.g. nblab1 (if it is this lab's bridge from before a change of network.subnet or network.gateway, remove the lab first with pulumi destroy)",
    ]);
  });

  it("accepts the bridge of this lab once deployed (it carries the lab's gateway), and a name no interface has", () => {
    const hostInterface = machineWith({ nblab0: { bridge: true, ipv4: ["10.77.0.1"] } });
    expect(validateLab(minimalLab(), undefined, { hostInterface }).network.bridge).toBe("nblab0");
    expect(validateLab(minimalLab({ network: { subnet: "10.77.0.0/24", bridge: "nblab1" } }), undefined, { hostInterface }).network.bridge).toBe("nblab1");
  });

  it("does not look at this machine's interfaces when the lab's engine is another machine", () => {
    const hostInterface: HostInterfaceProbe = (name) => {
      throw new Error(`probed ${name}`);
    };
    const remote = minimalLab({ docker: { host: "ssh://lab@far-away" }, network: { subnet: "10.77.0.0/24", bridge: "eth0" }, clients: [] });
    expect(validateLab(remote, undefined, { hostInterface }).network.bridge).toBe("eth0");
  });
});
