/**
 * `servers.dhcp.mode: proxy`: the lab hands out no address, so settings only an address server
 * hands out are refused, and so is every client whose first loader cannot follow a proxy offer;
 * each message names the field, the client and the fix (boot iPXE first).
 */
import { describe, expect, it } from "vitest";
import { validateLab } from "../../lib/model";
import { minimalLab, problemsOf } from "./fixtures";

const proxy = { dhcp: { mode: "proxy" as const } };
const client = (bootImage: string, extra: Record<string, unknown> = {}) => ({ name: "vm1", mac: "52:54:00:00:00:01", bootImage, ...extra });

describe("servers.dhcp.mode", () => {
  it("is authoritative by default, and proxy accepts an iPXE client without an address", () => {
    expect(validateLab(minimalLab()).servers.dhcp.mode).toBe("authoritative");
    const lab = validateLab(
      minimalLab({ servers: proxy, clients: [client("linux"), client("linux", { name: "vm2", mac: "52:54:00:00:00:02", firmware: "efi-x64" })] }),
    );
    expect(lab.servers.dhcp.mode).toBe("proxy");
    expect(lab.clients.map((entry) => entry.bootFile)).toEqual(["linux/undionly.kpxe", "linux/ipxe.efi"]);
  });

  it("refuses an unknown mode with the modes it knows", () => {
    expect(problemsOf(minimalLab({ servers: { dhcp: { mode: "relay" } } } as never))).toEqual([
      'servers.dhcp.mode: Invalid option: expected one of "authoritative"|"proxy"',
    ]);
  });
});

describe("proxy mode refuses what only the site's DHCP server hands out", () => {
  it("refuses a client's ipv4, naming the client and where to reserve it", () => {
    expect(problemsOf(minimalLab({ servers: proxy }))).toEqual([
      "clients[0].ipv4: vm1 would need a reservation, but in proxy mode the site's DHCP server gives every address; remove ipv4 (reserve 10.77.0.10 for 52:54:00:00:00:01 on the site's server), or set servers.dhcp.mode: authoritative",
    ]);
  });

  it("refuses pools, router, DNS servers and domain name", () => {
    const network = {
      subnet: "10.77.0.0/24",
      pools: [{ start: "10.77.0.100", end: "10.77.0.200" }],
      router: "10.77.0.1",
      dnsServers: ["10.77.0.53"],
      domainName: "lab.example",
    };
    expect(problemsOf(minimalLab({ servers: proxy, network, clients: [client("linux")] }))).toEqual(
      ["pools", "router", "dnsServers", "domainName"].map(
        (key) =>
          `network.${key}: is handed out by the site's DHCP server when servers.dhcp.mode is proxy: the lab hands out no address, pool, router, DNS or domain; remove network.${key} (set it on the site's server), or set servers.dhcp.mode: authoritative`,
      ),
    );
  });

  it("refuses Kea: the lab runs its proxyDHCP server in its place", () => {
    expect(problemsOf(minimalLab({ servers: { dhcp: { mode: "proxy", server: "kea" } }, clients: [client("linux")] }))).toEqual([
      "servers.dhcp.server: is kea, but in proxy mode the lab runs neither dhcpd nor Kea: its own proxyDHCP server answers PXE beside the site's DHCP server; remove servers.dhcp.server, or set servers.dhcp.mode: authoritative",
    ]);
  });

  it("refuses allowUnknownClients: the lab answers declared clients only", () => {
    expect(problemsOf(minimalLab({ servers: proxy, network: { subnet: "10.77.0.0/24", allowUnknownClients: true }, clients: [client("linux")] }))).toEqual([
      "network.allowUnknownClients: is true, but in proxy mode the lab gives no address and has no boot image for a MAC the stack does not declare, so it answers only declared clients; declare the client (its mac and bootImage), or remove allowUnknownClients",
    ]);
  });
});

describe("proxy mode refuses boot chains that cannot follow a proxy offer", () => {
  it("refuses GRUB, pxelinux and NetBSD first, naming the client and the fix: iPXE first", () => {
    const bootImages = [
      { name: "grub", kind: "grub" as const },
      { name: "syslinux", kind: "pxelinux" as const },
      { name: "bsd", kind: "netbsd" as const, pxeboot: "p", kernel: "k" },
    ];
    const clients = [
      client("grub", { firmware: "efi-x64" }),
      client("syslinux", { name: "vm2", mac: "52:54:00:00:00:02" }),
      client("bsd", { name: "vm3", mac: "52:54:00:00:00:03" }),
    ];
    expect(problemsOf(minimalLab({ servers: proxy, bootImages, clients }))).toEqual([
      'clients[0].bootImage: vm1 boots "grub" (grub): GRUB loads first, and GRUB ignores proxy offers (it takes its boot server from the address offer alone and drops to its rescue prompt); in proxy mode boot iPXE first: use a boot image of kind ipxe, or set servers.dhcp.mode: authoritative',
      'clients[1].bootImage: vm2 boots "syslinux" (pxelinux): pxelinux loads first, and it reads its config path from the site server\'s answer, which names no boot server; in proxy mode boot iPXE first: use a boot image of kind ipxe, or set servers.dhcp.mode: authoritative',
      'clients[2].bootImage: vm3 boots "bsd" (netbsd): NetBSD\'s pxeboot asks again for its kernel as NetBSD:i386:libsa, not PXEClient, and a proxy answers PXE clients only; in proxy mode boot iPXE first: use a boot image of kind ipxe, or set servers.dhcp.mode: authoritative',
    ]);
  });

  it("refuses shim first (Secure Boot's chain) and UEFI HTTP Boot, naming the client and the fix", () => {
    const bootImages = [
      { name: "linux", kind: "ipxe" as const },
      { name: "signed", kind: "signed-grub" as const },
    ];
    const clients = [
      client("signed", { firmware: "efi-x64", nic: "qemu-virtio", secureBoot: true }),
      client("linux", { name: "vm2", mac: "52:54:00:00:00:02", firmware: "efi-x64", netboot: "http" }),
    ];
    expect(problemsOf(minimalLab({ servers: proxy, bootImages, clients }))).toEqual([
      'clients[0].bootImage: vm1 boots "signed" (signed-grub): shim loads first, and shim fetches grubx64.efi from the server of the address offer (the site\'s), not from the proxy; in proxy mode boot iPXE first: use a boot image of kind ipxe, or set servers.dhcp.mode: authoritative',
      "clients[1].netboot: vm2 is http (UEFI HTTP Boot), whose firmware takes its boot URL only from the offer that gives its address, which the site's server makes; in proxy mode use netboot: pxe with an ipxe image, or set servers.dhcp.mode: authoritative",
    ]);
  });

  it("accepts an EFI Mac (BSDP) and refuses a BIOS one, whose Apple PXE booter loads no iPXE", () => {
    const darwin = { name: "snow", kind: "darwin-nbi" as const, booter: "b", pxeBooter: "p", kernel: "k", extensions: ["E"], rootImage: "r.dmg" };
    const mac = { name: "mac", mac: "00:50:56:00:00:01", platform: "fusion" as const, bootImage: "snow" };
    expect(validateLab(minimalLab({ servers: proxy, bootImages: [darwin], clients: [{ ...mac, firmware: "efi-x64" }] })).bsdp.images).toHaveLength(1);
    expect(problemsOf(minimalLab({ servers: proxy, bootImages: [darwin], clients: [{ ...mac, firmware: "bios" }] }))).toEqual([
      'clients[0].firmware: mac boots "snow" through Apple\'s BIOS PXE booter, which does not load iPXE first and cannot follow a proxy offer; in proxy mode Macs netboot over BSDP with EFI firmware: set firmware: efi-x64 (or efi-ia32), or set servers.dhcp.mode: authoritative',
    ]);
  });

  it("leaves authoritative labs as they were: GRUB and reservations pass", () => {
    expect(validateLab(minimalLab({ bootImages: [{ name: "linux", kind: "grub" }] })).clients[0]!.ipv4).toBe("10.77.0.10");
  });
});
