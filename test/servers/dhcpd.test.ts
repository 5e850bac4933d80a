import { execa } from "execa";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadStackLab, validateLab, type LabConfigInput } from "../../lib/model";
import { stackWithVncPassword } from "../support/stack-files";
import { renderBootFileSelection, renderDhcpdConf } from "../../lib/servers/dhcpd";
import { ipxeAndNetbsdLab, minimalLab } from "../model/fixtures";

const workDir = mkdtempSync(join(tmpdir(), "nbl-dhcpd-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** Runs ISC dhcpd's own syntax check on a rendered config; returns its complaint on failure. */
async function dhcpdSyntaxCheck(conf: string, name: string): Promise<string | undefined> {
  const path = join(workDir, `${name}.conf`);
  writeFileSync(path, conf);
  const result = await execa("dhcpd", ["-t", "-4", "-cf", path], { reject: false, all: true });
  return result.exitCode === 0 ? undefined : result.all;
}

describe("dhcpd.conf prevents the known netboot failures", () => {
  const conf = renderDhcpdConf(validateLab(ipxeAndNetbsdLab()));

  it("keys leases on the MAC alone (failure 1)", () => {
    expect(conf).toContain("ignore-client-uids true;");
    expect(conf).toContain("  host vm1 {\n    hardware ethernet 52:54:00:00:00:01;\n    fixed-address 10.77.0.10;");
  });

  it("with allowUnknownClients, admits declared clients to the pool as well as unknown ones", () => {
    const open = renderDhcpdConf(validateLab(minimalLab({ network: { subnet: "10.77.0.0/24", allowUnknownClients: true } })));
    expect(open).toContain("  pool {\n    range dynamic-bootp 10.77.0.128 10.77.0.254;\n    allow known-clients;\n    allow unknown-clients;\n  }");
  });

  it("lets BOOTP clients take pool addresses (failure 2)", () => {
    expect(conf).toContain("  pool {\n    range dynamic-bootp 10.77.0.128 10.77.0.254;\n    deny unknown-clients;\n  }");
    expect(conf).toContain("allow bootp;");
  });

  it("appends root-path (17 = hex 11) to every parameter request list (failure 3)", () => {
    expect(conf).toContain("option dhcp-parameter-request-list = concat(option dhcp-parameter-request-list, 11);");
    expect(conf).toContain('option root-path "10.77.0.2:/netboot/linux/root";');
  });

  it("serves only the lab subnet, with no route out and unknown clients denied (failure 5)", () => {
    expect(conf.match(/^subnet /gm)).toHaveLength(1);
    expect(conf).toContain("subnet 10.77.0.0 netmask 255.255.255.0 {");
    expect(conf).not.toContain("option routers");
  });
});

describe("boot file selection (failure 4)", () => {
  it("tests iPXE's user-class before the firmware architecture", () => {
    expect(renderBootFileSelection({ ipxe: "http://s/boot.ipxe", "efi-x64": "ipxe.efi", "efi-ia32": "ia32.efi", bios: "undionly.kpxe" })).toEqual([
      'if exists user-class and option user-class = "iPXE" {',
      '  filename "http://s/boot.ipxe";',
      "} elsif option client-arch = 00:07 or option client-arch = 00:09 {",
      '  filename "ipxe.efi";',
      "} elsif option client-arch = 00:06 or option client-arch = 00:02 {",
      '  filename "ia32.efi";',
      "} else {",
      '  filename "undionly.kpxe";',
      "}",
    ]);
  });

  it("answers NetBSD pxeboot's second request with its kernel", () => {
    expect(renderBootFileSelection({ bios: "bsd/pxeboot_ia32.bin", "netbsd-libsa": "tftp:bsd/netbsd" })).toEqual([
      'if substring(option vendor-class-identifier, 0, 17) = "NetBSD:i386:libsa" {',
      '  filename "tftp:bsd/netbsd";',
      "} else {",
      '  filename "bsd/pxeboot_ia32.bin";',
      "}",
    ]);
  });

  it("hands a BIOS-only image to everyone without branching", () => {
    expect(renderBootFileSelection({ bios: "pxeboot_ia32.bin" })).toEqual(['filename "pxeboot_ia32.bin";']);
  });

  it("gives BIOS clients no file when an image has none for them", () => {
    expect(renderBootFileSelection({ "efi-x64": "booter" })).toEqual([
      "if option client-arch = 00:07 or option client-arch = 00:09 {",
      '  filename "booter";',
      "}",
    ]);
  });
});

/** Lab variants that together use every renderer branch. */
function variants(): Record<string, LabConfigInput> {
  const darwin = { name: "snow", kind: "darwin-nbi" as const, booter: "b", pxeBooter: "p", kernel: "k", extensions: ["E"], rootImage: "NetInstall.dmg" };
  return {
    minimal: minimalLab(),
    "no clients": { network: { subnet: "192.168.50.0/24" } },
    "unknown clients allowed, router, dns, domain, two pools": minimalLab({
      network: {
        subnet: "10.1.0.0/16",
        router: "10.1.0.1",
        gateway: "10.1.0.254",
        dnsServers: ["10.1.0.53", "10.1.0.54"],
        domainName: "lab.example",
        allowUnknownClients: true,
        pools: [
          { start: "10.1.1.0", end: "10.1.1.255" },
          { start: "10.1.3.10", end: "10.1.3.20" },
        ],
      },
      clients: [{ name: "vm1", mac: "52:54:00:00:00:01", ipv4: "10.1.0.10", bootImage: "linux" }],
    }),
    "every image kind and firmware": minimalLab({
      network: { subnet: "10.9.8.0/25", serverAddress: "10.9.8.3", pools: [{ start: "10.9.8.100", end: "10.9.8.120" }] },
      servers: { http: { enabled: false }, nfs: { exportPath: "/srv/boot" } },
      bootImages: [
        { name: "ipxe", kind: "ipxe", nfsRoot: true },
        { name: "grub", kind: "grub" },
        { name: "syslinux", kind: "pxelinux" },
        { name: "bsd", kind: "netbsd", pxeboot: "p", kernel: "k", serialConsole: true },
        darwin,
        { ...darwin, name: "snow-http", protocol: "http" },
      ],
      clients: [
        { name: "a", mac: "52:54:00:00:00:01", ipv4: "10.9.8.10", firmware: "bios", bootImage: "ipxe" },
        { name: "b", mac: "52:54:00:00:00:02", firmware: "efi-x64", bootImage: "grub" },
        { name: "c", mac: "52:54:00:00:00:03", firmware: "bios", bootImage: "syslinux" },
        { name: "d", mac: "52:54:00:00:00:04", ipv4: "10.9.8.11", bootImage: "bsd" },
        { name: "e", mac: "00:50:56:00:00:05", platform: "fusion", firmware: "efi-ia32", bootImage: "snow" },
        { name: "f", mac: "00:50:56:00:00:06", platform: "fusion", firmware: "bios", nic: "vmware-vlance", bootImage: "snow-http" },
      ],
    }),
  };
}

describe("dhcpd -t accepts every rendered config", () => {
  for (const stack of ["kvm", "fusion"]) {
    it(`stack ${stack}`, async () => {
      // Each stack file as its user has it: the fusion stack's VNC server needs its password set.
      const project = stackWithVncPassword(stack);
      try {
        expect(await dhcpdSyntaxCheck(renderDhcpdConf(loadStackLab(project.dir, stack)), stack)).toBeUndefined();
      } finally {
        project.cleanup();
      }
    });
  }
  for (const [name, config] of Object.entries(variants())) {
    it(`variant: ${name}`, async () => {
      expect(await dhcpdSyntaxCheck(renderDhcpdConf(validateLab(config)), name.replace(/\W+/g, "-"))).toBeUndefined();
    });
  }

  it("would catch a broken config (the check itself can fail)", async () => {
    expect(await dhcpdSyntaxCheck("subnet 10.0.0.0 netmask 255.255.255.0 {\n  filename;\n}\n", "broken")).toMatch(/broken.conf line \d+: /);
  });
});
