/**
 * kea-dhcp4.conf as the lab renders it: the traps of a move from dhcpd (client-id first, BOOTP,
 * unrequested root-path, reservation over class, vendor classes) each closed in the config,
 * Kea's own syntax check on every stack, and the container `servers.dhcp.server: kea` declares.
 */
import { execa } from "execa";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadStackLab, readLabConfig, stackFilePath, validateLab } from "../../lib/model";
import { renderLabFiles } from "../../lib/render-lab";
import { labServers } from "../../lib/servers";
import { KEA_BOOTP_HOOK, notOnKea, renderKeaConf, renderKeaConfig } from "../../lib/servers/kea";
import { ipxeAndNetbsdLab, minimalLab, problemsOf } from "../model/fixtures";
import { runStack } from "../support/pulumi-harness";
import { stackWithVncPassword } from "../support/stack-files";

const workDir = mkdtempSync(join(tmpdir(), "nbl-kea-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** Runs Kea's own syntax check on a rendered config; returns its complaint on failure. */
async function keaSyntaxCheck(conf: string, name: string): Promise<string | undefined> {
  const path = join(workDir, `${name}.json`);
  writeFileSync(path, conf);
  const result = await execa("kea-dhcp4", ["-t", path], { reject: false, all: true });
  return result.exitCode === 0 ? undefined : result.all;
}

const lab = validateLab(ipxeAndNetbsdLab());
const dhcp4 = renderKeaConfig(lab).Dhcp4 as Record<string, unknown> & {
  "client-classes": { name: string; test?: string; "boot-file-name"?: string; "option-data"?: unknown[] }[];
  subnet4: { pools: unknown[]; reservations: unknown[]; "next-server": string }[];
};
const classNamed = (name: string) => dhcp4["client-classes"].find((clientClass) => clientClass.name === name);

describe("kea-dhcp4.conf closes the traps of a move from dhcpd", () => {
  it("keys leases and reservations on the MAC alone, whatever client-id each boot stage sends", () => {
    expect(dhcp4).toMatchObject({ "match-client-id": false, "host-reservation-identifiers": ["hw-address"] });
    expect(dhcp4.subnet4[0]!.reservations).toEqual([
      { "hw-address": "52:54:00:00:00:01", "ip-address": "10.77.0.10", hostname: "vm1" },
      { "hw-address": "52:54:00:00:00:02", hostname: "vm2" },
    ]);
  });

  it("answers BOOTP through Debian's hook library and leaves undeclared BOOTP clients unanswered", () => {
    expect(dhcp4["hooks-libraries"]).toEqual([{ library: "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_bootp.so" }]);
    expect(classNamed("DROP")?.test).toBe("member('BOOTP') and not (pkt4.mac == 0x525400000001 or pkt4.mac == 0x525400000002)");
  });

  it("sends each image's root-path unrequested", () => {
    expect(classNamed("image-linux")?.["option-data"]).toEqual([{ name: "root-path", data: "10.77.0.2:/netboot/linux/root", "always-send": true }]);
  });

  it("keeps every boot file in classes, none in reservations, exactly one class per requester", () => {
    expect(JSON.stringify(dhcp4.subnet4)).not.toContain("boot-file-name");
    expect(classNamed("image-linux-ipxe")).toEqual({
      name: "image-linux-ipxe",
      test: "member('image-linux') and option[77].hex == 'iPXE'",
      "boot-file-name": "http://10.77.0.2/linux/boot.ipxe",
    });
    expect(classNamed("image-linux-efi-x64")?.test).toBe(
      "member('image-linux') and (option[93].hex == 0x0007 or option[93].hex == 0x0009) and not member('image-linux-ipxe')",
    );
    expect(classNamed("image-linux-other")).toMatchObject({
      test: "member('image-linux') and not member('image-linux-ipxe') and not member('image-linux-efi-x64')",
      "boot-file-name": "linux/undionly.kpxe",
    });
    expect(classNamed("image-bsd-netbsd-libsa")).toMatchObject({
      test: "member('image-bsd') and substring(option[60].hex, 0, 17) == 'NetBSD:i386:libsa'",
      "boot-file-name": "tftp:bsd/netbsd",
    });
  });

  it("serves pools to declared clients only, unless the stack allows unknown ones", () => {
    expect(dhcp4.subnet4[0]!.pools).toEqual([expect.objectContaining({ pool: "10.77.0.128 - 10.77.0.254", "client-class": "KNOWN" })]);
    const open = renderKeaConfig(validateLab(minimalLab({ network: { subnet: "10.77.0.0/24", allowUnknownClients: true } }))).Dhcp4 as typeof dhcp4;
    expect(open.subnet4[0]!.pools).toEqual([{ pool: "10.77.0.128 - 10.77.0.254" }]);
    expect(open["client-classes"].map((clientClass) => clientClass.name)).not.toContain("DROP");
  });

  it("is plain JSON: explanations live in comment fields", () => {
    const text = renderKeaConf(lab);
    expect(JSON.parse(text)).toEqual(renderKeaConfig(lab));
    expect(text).not.toMatch(/^\s*(\/\/|#)/m);
  });
});

describe("kea-dhcp4 -t accepts every rendered config", () => {
  for (const stack of ["kvm", "netbsd-kvm", "fusion"]) {
    it(`stack ${stack}`, async () => {
      const project = stackWithVncPassword(stack);
      try {
        expect(await keaSyntaxCheck(renderKeaConf(loadStackLab(project.dir, stack)), stack)).toBeUndefined();
      } finally {
        project.cleanup();
      }
    });
  }

  it("a lab without clients (Kea refuses empty lists)", async () => {
    expect(await keaSyntaxCheck(renderKeaConf(validateLab(minimalLab({ clients: [] }))), "no-clients")).toBeUndefined();
  });

  it("would catch a broken config (the check itself can fail)", async () => {
    const broken = renderKeaConf(lab, { leases: join(workDir, "leases.csv"), bootpHook: KEA_BOOTP_HOOK }).replace("option[77].hex", "option[77].nosuch");
    expect(await keaSyntaxCheck(broken, "broken")).toMatch(/error/i);
  });
});

describe("servers.dhcp.server: kea", () => {
  const keaLab = validateLab(minimalLab({ servers: { dhcp: { server: "kea" } } }));

  it("runs kea-dhcp4 in place of dhcpd, its PID file on a tmpfs and its leases on the leases volume", () => {
    const roles = labServers(keaLab).map((server) => server.role);
    expect(roles).toContain("kea");
    expect(roles).not.toContain("dhcpd");
    const kea = labServers(keaLab).find((server) => server.role === "kea")!;
    expect(kea.entrypoint.join(" ")).toContain("KEA_PIDFILE_DIR=/run/kea");
    expect(kea.command).toEqual(["-c", "/etc/netboot-lab/kea/kea-dhcp4.conf"]);
    expect(Object.keys(kea.tmpfs)).toEqual(["/run"]);
    expect(kea.mounts).toEqual([{ volume: "leases", target: "/var/lib/dhcp", readOnly: false }]);
    expect([...kea.capabilities].sort()).toEqual(["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]);
  });

  it("renders both configs whichever server runs, and ISC stays the default", () => {
    for (const model of [lab, keaLab]) {
      expect(renderLabFiles(model).map((file) => file.path)).toEqual(expect.arrayContaining(["dhcpd/dhcpd.conf", "kea/kea-dhcp4.conf"]));
    }
    expect(lab.servers.dhcp.server).toBe("isc");
  });

  it("says what Kea does not do for this lab", () => {
    expect(notOnKea(lab)).toEqual([
      expect.stringContaining("plain RFC 951"),
      expect.stringContaining("next free address on each DISCOVER"),
      expect.stringContaining("BOOTP leases for infinity"),
    ]);
    // Every client reserved: no pool behaviour to report.
    expect(notOnKea(validateLab(minimalLab()))).toEqual([expect.stringContaining("plain RFC 951")]);
  });

  it("refuses a server it does not know, naming the choices", () => {
    expect(() => validateLab(minimalLab({ servers: { dhcp: { server: "dnsmasq" as "kea" } } }))).toThrow(/servers\.dhcp\.server.*"isc" \| "kea"|isc.*kea/s);
  });

  it("is refused for a lab whose BSDP responder answers Macs, which cannot share UDP port 67 with kea-dhcp4", () => {
    const project = stackWithVncPassword("fusion");
    try {
      const fusion = loadStackLab(project.dir, "fusion");
      const withKea = { ...readLabConfig(stackFilePath(project.dir, "fusion")), servers: { dhcp: { server: "kea" } } };
      expect(fusion.bsdp.enabled).toBe(true);
      const refusal =
        "kea cannot run beside the lab's BSDP responder, which answers the Macs of the darwin-nbi images: kea-dhcp4 holds UDP port 67 alone; keep server isc for this lab, or set bsdp.enabled: false when another NetBoot server answers the Macs";
      expect(problemsOf(withKea)).toEqual([`servers.dhcp.server: ${refusal}`]);
      expect(() => validateLab({ ...withKea, bsdp: { enabled: false } })).not.toThrow();
    } finally {
      project.cleanup();
    }
  });

  it("declares the kvm stack's kea container in the pod, and the dhcpd log command names it", async () => {
    const { resources, outputs } = await runStack("kvm", { configOverrides: { "netboot-lab:servers": { dhcp: { server: "kea" } } } });
    const names = resources.map((resource) => resource.name);
    expect(names).toContain("nbl-kvm-kea");
    expect(names).not.toContain("nbl-kvm-dhcpd");
    const kea = resources.find((resource) => resource.name === "nbl-kvm-kea")!.inputs as { tmpfs: Record<string, string>; uploads: { file: string }[] };
    expect(kea.tmpfs).toEqual({ "/run": "rw,nosuid,nodev,noexec,size=1m" });
    expect(kea.uploads.map((upload) => upload.file)).toEqual(["/etc/netboot-lab/kea/kea-dhcp4.conf"]);
    expect(outputs).toMatchObject({ commands: { dhcpdLog: "docker logs -f nbl-kvm-kea" }, containers: { kea: "nbl-kvm-kea" } });
  });
});
