import { describe, expect, it } from "vitest";
import { planChecks } from "../../lib/check/plan";
import { probeAddress } from "../../lib/model";
import { checkReport, formatCheckReport } from "../../lib/check/report";
import { nfsRootLocation, validateLab } from "../../lib/model";
import { ipxeScriptFetches, renderIpxeScript } from "../../lib/pxe/ipxe";

const lab = validateLab({
  network: { subnet: "10.77.0.0/24", serverAddress: "10.77.0.2" },
  bootImages: [
    { name: "linux", kind: "ipxe", nfsRoot: true },
    { name: "bsd", kind: "netbsd", pxeboot: "pxeboot_ia32.bin", kernel: "netbsd" },
  ],
  clients: [
    { name: "vm1", mac: "52:54:00:00:00:01", ipv4: "10.77.0.10", bootImage: "linux" },
    { name: "vm2", mac: "52:54:00:00:00:02", firmware: "efi-x64", bootImage: "linux" },
    { name: "bsd1", mac: "52:54:00:00:00:03", ipv4: "10.77.0.12", bootImage: "bsd" },
  ],
});

describe("check plan", () => {
  it("asks as each client's firmware and loaders do, with the file the model hands each", () => {
    const [vm1, vm2, bsd1] = planChecks(lab).clients;
    expect(vm1!.dhcp.map((ask) => [ask.id, ask.message, ask.identity.clientArch, ask.identity.userClass, ask.bootFile])).toEqual([
      ["pxe", "DHCPDISCOVER", 0, undefined, "linux/undionly.kpxe"],
      ["ipxe", "DHCPDISCOVER", 0, "iPXE", "http://10.77.0.2/linux/boot.ipxe"],
      ["bootp", "BOOTREQUEST", undefined, undefined, "linux/undionly.kpxe"],
    ]);
    // A pool client gets no BOOTP request: dhcpd would bind a pool address to it at once.
    expect(vm2!.dhcp.map((ask) => [ask.id, ask.identity.clientArch, ask.bootFile])).toEqual([
      ["pxe", 7, "linux/ipxe.efi"],
      ["ipxe", 7, "http://10.77.0.2/linux/boot.ipxe"],
    ]);
    expect(bsd1!.dhcp.find((ask) => ask.id === "netbsd-libsa")).toMatchObject({ identity: { vendorClass: "NetBSD:i386:libsa" }, bootFile: "tftp:bsd/netbsd" });
  });

  it("reads the boot files over TFTP and HTTP and the NFS root the client will use", () => {
    const [vm1, vm2, bsd1] = planChecks(lab).clients;
    expect(vm1).toMatchObject({
      tftp: ["linux/undionly.kpxe"],
      http: ["http://10.77.0.2/linux/boot.ipxe"],
      nfsRoot: { server: "10.77.0.2", path: "/netboot/linux/root", kind: "folder" },
    });
    expect(vm2!.tftp).toEqual(["linux/ipxe.efi"]);
    expect(bsd1!.tftp).toEqual(["bsd/pxeboot_ia32.bin", "bsd/netbsd"]);
  });

  it("plans one client with a name, and probes undeclared MACs with one the lab does not use", () => {
    const plan = planChecks(lab, "vm2");
    expect(plan.clients.map((client) => client.client.name)).toEqual(["vm2"]);
    expect(lab.clients.map((client) => client.mac)).not.toContain(plan.unknownMac);
  });

  it("puts the probe on the highest address no pool, reservation or server uses", () => {
    expect(lab.network.pools).toEqual([{ start: "10.77.0.128", end: "10.77.0.254", size: 127 }]);
    expect(probeAddress(lab)).toBe("10.77.0.127");
  });
});

describe("check report", () => {
  it("prints one row per client and check, the fix under a failure, and a verdict", () => {
    const report = checkReport("kvm", "10.77.0.2", [
      { client: "vm1", mac: "52:54:00:00:00:01", kind: "dhcp", subject: "pxe", status: "pass", detail: "PXE ROM (BIOS, arch 0): DHCPOFFER 10.77.0.10" },
      {
        client: "vm1",
        mac: "52:54:00:00:00:01",
        kind: "tftp",
        subject: "linux/undionly.kpxe",
        status: "fail",
        detail: "linux/undionly.kpxe missing from the boot tree",
        fix: "see `pulumi stack output bootImages`",
      },
    ]);
    expect(report.ok).toBe(false);
    expect(formatCheckReport(report)).toBe(
      [
        "netboot-lab check: stack kvm, servers at 10.77.0.2",
        "",
        "client  check                     result  detail",
        "vm1     DHCP pxe                  ok      PXE ROM (BIOS, arch 0): DHCPOFFER 10.77.0.10",
        "vm1     TFTP linux/undionly.kpxe  FAIL    linux/undionly.kpxe missing from the boot tree",
        "                                          fix: see `pulumi stack output bootImages`",
        "",
        "1 of 2 checks failed",
        "",
      ].join("\n"),
    );
  });
});

describe("what the probe reads off the model's own formats", () => {
  it("finds the NFS location in Linux, NetBSD and xnu root paths", () => {
    expect(nfsRootLocation("10.77.0.2:/netboot/linux/root")).toEqual({ server: "10.77.0.2", path: "/netboot/linux/root", kind: "folder" });
    expect(nfsRootLocation("nfs:10.77.0.2:/netboot:snow/Snow.nbi/NetInstall.dmg")).toEqual({
      server: "10.77.0.2",
      path: "/netboot/snow/Snow.nbi/NetInstall.dmg",
      kind: "image",
    });
    expect(nfsRootLocation("http://10.77.0.2/snow/Snow.nbi/NetInstall.dmg")).toBeUndefined();
  });

  it("follows an iPXE script's kernel and initrd relative to its URL, as iPXE does", () => {
    const image = lab.bootImages[0] as Extract<(typeof lab.bootImages)[number], { kind: "ipxe" }>;
    const script = renderIpxeScript(image, lab.bootFileSets.linux!);
    expect(ipxeScriptFetches(script, "http://10.77.0.2/linux/boot.ipxe")).toEqual(["http://10.77.0.2/linux/vmlinuz", "http://10.77.0.2/linux/initrd.img"]);
  });
});
