import { describe, expect, it } from "vitest";
import { validateLab, type LabConfigInput } from "../../lib/model";
import { minimalLab, problemsOf } from "./fixtures";

describe("lab model defaults", () => {
  it("fills a minimal stack with server, gateway, bridge and a pool in the upper half", () => {
    const lab = validateLab(minimalLab());
    expect(lab.network).toMatchObject({
      subnet: "10.77.0.0/24",
      gateway: "10.77.0.1",
      serverAddress: "10.77.0.2",
      bridge: "nblab0",
      mode: "bridge",
      listenInterface: "eth0",
      allowUnknownClients: false,
      pools: [{ start: "10.77.0.128", end: "10.77.0.254", size: 127 }],
    });
    expect(lab.docker.baseImage).toBe("debian:bookworm-slim");
    expect(lab.servers).toEqual({
      dhcp: { server: "isc" },
      tftp: { enabled: true, maxBlockSize: 1468 },
      nfs: { enabled: true, exportPath: "/netboot" },
      http: { enabled: true, port: 80 },
    });
  });

  it("resolves each client's boot file and NIC from its image and platform", () => {
    const lab = validateLab(
      minimalLab({
        clients: [
          { name: "bios", mac: "52-54-00-AA-BB-01", ipv4: "10.77.0.10", bootImage: "linux" },
          { name: "efi", mac: "52:54:00:aa:bb:02", firmware: "efi-x64", bootImage: "linux" },
        ],
      }),
    );
    expect(lab.clients).toEqual([
      expect.objectContaining({ name: "bios", mac: "52:54:00:aa:bb:01", ipv4: "10.77.0.10", nic: "qemu-e1000", bootFile: "linux/undionly.kpxe" }),
      expect.objectContaining({ name: "efi", ipv4: undefined, bootFile: "linux/ipxe.efi" }),
    ]);
    expect(lab.clients[0]!.bootFiles.ipxe).toBe("http://10.77.0.2/linux/boot.ipxe");
  });

  it("hands iPXE its script over TFTP when HTTP is disabled", () => {
    const lab = validateLab(minimalLab({ servers: { http: { enabled: false } } }));
    expect(lab.clients[0]!.bootFiles.ipxe).toBe("tftp://10.77.0.2/linux/boot.ipxe");
  });

  it("builds Darwin root paths in the nfs: form xnu parses", () => {
    const lab = validateLab(
      minimalLab({
        bootImages: [
          { name: "snow", kind: "darwin-nbi", nbiName: "NetBootSP0", booter: "b", kernel: "k", extensions: ["E"], rootImage: "media/NetInstall.dmg" },
        ],
        clients: [{ name: "mac", mac: "00:50:56:00:00:01", platform: "fusion", firmware: "efi-x64", bootImage: "snow" }],
      }),
    );
    expect(lab.clients[0]).toMatchObject({
      nic: "vmware-e1000",
      bootFile: "snow/NetBootSP0.nbi/i386/booter",
      rootPath: "nfs:10.77.0.2:/netboot:snow/NetBootSP0.nbi/NetInstall.dmg",
    });
  });
});

describe("lab validation names the field and the fix", () => {
  it("rejects a malformed MAC", () => {
    expect(problemsOf(minimalLab({ clients: [{ name: "vm1", mac: "52:54:00:zz:00:01", bootImage: "linux" }] }))).toEqual([
      'clients[0].mac: "52:54:00:zz:00:01" is not a MAC address; write six hex pairs separated by colons, e.g. 52:54:00:12:34:56',
    ]);
  });

  it("rejects a malformed address and a subnet with host bits", () => {
    expect(problemsOf({ network: { subnet: "10.77.0.5/24" } })).toEqual([
      'network.subnet: "10.77.0.5/24" has host bits set; the network address of that subnet is 10.77.0.0/24',
    ]);
    expect(problemsOf(minimalLab({ clients: [{ name: "vm1", mac: "52:54:00:00:00:01", ipv4: "10.77.0.300", bootImage: "linux" }] }))).toEqual([
      'clients[0].ipv4: "10.77.0.300" is not an IPv4 address; write four numbers 0-255 separated by dots',
    ]);
  });

  it("rejects addresses outside the subnet", () => {
    const problems = problemsOf(minimalLab({ network: { subnet: "10.77.0.0/24", serverAddress: "10.78.0.2" } }));
    expect(problems).toEqual(["network.serverAddress: 10.78.0.2 is outside the lab subnet 10.77.0.0/24; use an address from 10.77.0.1 to 10.77.0.254"]);
  });

  it("rejects overlapping pools", () => {
    const network = {
      subnet: "10.77.0.0/24",
      pools: [
        { start: "10.77.0.100", end: "10.77.0.150" },
        { start: "10.77.0.150", end: "10.77.0.200" },
      ],
    };
    expect(problemsOf(minimalLab({ network }))).toEqual([
      "network.pools[1]: 10.77.0.150-10.77.0.200 overlaps network.pools[0] (10.77.0.100-10.77.0.150); pools must not share addresses",
    ]);
  });

  it("rejects a server or reserved address inside a dynamic pool", () => {
    const network = { subnet: "10.77.0.0/24", serverAddress: "10.77.0.130" };
    const problems = problemsOf(minimalLab({ network, clients: [{ name: "vm1", mac: "52:54:00:00:00:01", ipv4: "10.77.0.200", bootImage: "linux" }] }));
    expect(problems).toEqual([
      "network.serverAddress: 10.77.0.130 lies inside the dynamic pool network.pools[0] (10.77.0.128-10.77.0.254); pick an address outside the pool or shrink the pool",
      "clients[0].ipv4: 10.77.0.200 lies inside the dynamic pool network.pools[0] (10.77.0.128-10.77.0.254); pick an address outside the pool or shrink the pool",
    ]);
  });

  it("rejects duplicate client names, MACs and addresses", () => {
    const clients: LabConfigInput["clients"] = [
      { name: "vm1", mac: "52:54:00:00:00:01", ipv4: "10.77.0.10", bootImage: "linux" },
      { name: "vm1", mac: "52:54:00:00:00:01", ipv4: "10.77.0.10", bootImage: "linux" },
    ];
    expect(problemsOf(minimalLab({ clients }))).toEqual([
      'clients[1].name: "vm1" is already the name of clients[0]; client names must be unique',
      "clients[1].mac: 52:54:00:00:00:01 is already the MAC of clients[0]; every client needs its own MAC",
      "clients[1].ipv4: 10.77.0.10 is already used by clients[0].ipv4; give each a different address",
    ]);
  });

  it("rejects a client address equal to the server's", () => {
    const clients = [{ name: "vm1", mac: "52:54:00:00:00:01", ipv4: "10.77.0.2", bootImage: "linux" }];
    expect(problemsOf(minimalLab({ clients }))).toEqual(["clients[0].ipv4: 10.77.0.2 is already used by network.serverAddress; give each a different address"]);
  });

  it("rejects a reference to an undefined boot image", () => {
    const clients = [{ name: "vm1", mac: "52:54:00:00:00:01", bootImage: "debian" }];
    expect(problemsOf(minimalLab({ clients }))).toEqual(['clients[0].bootImage: "debian" is not defined under bootImages; use one of linux']);
  });

  it("rejects a pool too small for its clients", () => {
    const network = { subnet: "10.77.0.0/24", pools: [{ start: "10.77.0.100", end: "10.77.0.100" }] };
    const clients = [
      { name: "vm1", mac: "52:54:00:00:00:01", bootImage: "linux" },
      { name: "vm2", mac: "52:54:00:00:00:02", bootImage: "linux" },
    ];
    expect(problemsOf(minimalLab({ network, clients }))).toEqual([
      "network.pools: hold 1 address(es) but 2 client(s) have no ipv4 and need one from a pool; enlarge the pools or give those clients an ipv4",
    ]);
  });

  it("rejects firmware the image cannot boot, and a NIC of the wrong platform", () => {
    const bootImages = [{ name: "bsd", kind: "netbsd" as const, pxeboot: "p", kernel: "k" }];
    const clients = [{ name: "vm1", mac: "52:54:00:00:00:01", firmware: "efi-x64" as const, nic: "vmware-e1000" as const, bootImage: "bsd" }];
    expect(problemsOf(minimalLab({ bootImages, clients }))).toEqual([
      "clients[0].nic: vmware-e1000 is a VMware NIC but the client's platform is qemu; pick a qemu-* model",
      'clients[0].firmware: boot image "bsd" (netbsd) cannot boot efi-x64 firmware; it supports bios',
    ]);
  });

  it("rejects two boot images with one name", () => {
    expect(
      problemsOf(
        minimalLab({
          bootImages: [
            { name: "linux", kind: "ipxe" },
            { name: "linux", kind: "grub" },
          ],
        }),
      ),
    ).toEqual(['bootImages[1].name: "linux" is already used by another boot image; names must be unique']);
  });

  it("rejects a pool whose start is after its end", () => {
    expect(problemsOf(minimalLab({ network: { subnet: "10.77.0.0/24", pools: [{ start: "10.77.0.200", end: "10.77.0.150" }] } }))).toEqual([
      "network.pools[0]: start 10.77.0.200 is after end 10.77.0.150; swap them",
    ]);
  });

  it("rejects a malformed gateway, suggesting an address of the subnet", () => {
    expect(problemsOf(minimalLab({ network: { subnet: "10.77.0.0/24", gateway: "10.77.0.x" } }))).toEqual([
      'network.gateway: "10.77.0.x" is not an IPv4 address; write four numbers 0-255 separated by dots, e.g. 10.77.0.2',
    ]);
  });

  it("rejects a parent interface in bridge mode, where nothing uses it", () => {
    expect(problemsOf(minimalLab({ network: { subnet: "10.77.0.0/24", parentInterface: "eth1" } }))).toEqual([
      "network.parentInterface: only applies to network.mode macvlan; remove it, or set network.mode: macvlan",
    ]);
  });

  it("requires a parent interface for macvlan and host networking", () => {
    expect(problemsOf(minimalLab({ network: { subnet: "10.77.0.0/24", mode: "macvlan" }, clients: [] }))).toEqual([
      'network.parentInterface: is required when network.mode is "macvlan": name the host interface on the clients\' layer-2 network (the one VMware bridges to), e.g. eth1',
    ]);
  });

  it("names unknown keys and wrong types from the schema", () => {
    const problems = problemsOf({ ...minimalLab(), network: { subnet: "10.77.0.0/24", brige: "x" }, clients: [{ name: "vm1", mac: 5, bootImage: "linux" }] });
    expect(problems).toEqual([
      'network: unknown key(s) "brige"; check the spelling against README.md',
      "clients[0].mac: Invalid input: expected string, received number",
    ]);
  });
});

describe("missing required fields", () => {
  it("says which field is required", () => {
    expect(problemsOf({ network: {} })).toEqual(["network.subnet: is required (expected string)"]);
  });
});
