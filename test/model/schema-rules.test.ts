/** The shape of each field, as the schema checks it: the message names the field and what it must look like. */
import { describe, expect, it } from "vitest";
import { minimalLab, problemsOf } from "./fixtures";

const darwinImage = { name: "snow", kind: "darwin-nbi" as const, booter: "b", kernel: "k", extensions: ["E"], rootImage: "r.dmg" };

describe("field shapes", () => {
  it("names: images, clients, bridges, Docker prefixes, VM folders", () => {
    expect(problemsOf(minimalLab({ bootImages: [{ name: "Linux", kind: "ipxe" }], clients: [] }))).toEqual([
      "bootImages[0].name: must start with a letter and use only a-z, 0-9 and '-' (at most 31 characters)",
    ]);
    expect(problemsOf(minimalLab({ network: { subnet: "10.77.0.0/24", bridge: "0bad" } }))).toEqual([
      "network.bridge: must be a Linux interface name: a letter, then letters, digits, '_', '.' or '-', at most 15 characters",
    ]);
    const mac = { name: "m", mac: "00:50:56:00:00:01", platform: "fusion" as const, firmware: "efi-x64" as const, bootImage: "snow", displayName: "-x" };
    expect(problemsOf(minimalLab({ bootImages: [{ ...darwinImage, nbiName: "../x", debugFlags: "144" }], clients: [mac] }))).toEqual([
      "bootImages[0].nbiName: must start with a letter or digit and use only letters, digits, space, '.', '_' and '-'",
      "bootImages[0].debugFlags: must be a hex number such as 0x144",
      "clients[0].displayName: must start with a letter or digit and use only letters, digits, space, '.', '_' and '-' (at most 64 characters)",
    ]);
  });

  it("Docker settings and the NFS export", () => {
    expect(
      problemsOf(minimalLab({ docker: { host: "http://x", socket: "var/run/docker.sock", namePrefix: "Bad" }, servers: { nfs: { exportPath: "netboot" } } })),
    ).toEqual([
      "docker.host: must be a Docker host URL: unix:///var/run/docker.sock, ssh://user@host or tcp://host:2376",
      "docker.socket: must be the absolute path of the Docker engine's socket on the Docker host, e.g. /var/run/docker.sock",
      "docker.namePrefix: must be a Docker name prefix: lower-case letters, digits, '_', '.' or '-', at most 40 characters",
      "servers.nfs.exportPath: must be an absolute path such as /netboot",
    ]);
  });

  it("Fusion connections", () => {
    expect(problemsOf(minimalLab({ fusion: { connection: { type: "bridged", hostInterface: "En0" } } }))).toEqual([
      "fusion.connection.hostInterface: must be a macOS interface name such as en0",
    ]);
    expect(problemsOf(minimalLab({ fusion: { connection: { type: "custom", vnet: "vmnet" } } }))).toEqual([
      "fusion.connection.vnet: must name a vmnet such as vmnet2",
    ]);
  });

  it("a boot image without a known kind", () => {
    expect(problemsOf({ network: { subnet: "10.77.0.0/24" }, bootImages: [{ name: "x" }, { name: "y", kind: "pxe" }] })).toEqual([
      "bootImages[0].kind: is missing or unknown; a boot image's kind is one of ipxe, grub, pxelinux, signed-grub, netbsd, darwin-nbi",
      "bootImages[1].kind: is missing or unknown; a boot image's kind is one of ipxe, grub, pxelinux, signed-grub, netbsd, darwin-nbi",
    ]);
  });
});
