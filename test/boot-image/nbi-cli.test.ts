import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "plist";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { darwinMedia, type DarwinMedia } from "./fixtures";

let media: DarwinMedia;
beforeEach(() => {
  media = darwinMedia();
});
afterEach(() => media.cleanup());

/** The bundled CLI, as `npm run netboot-lab -- nbi build …` runs it. */
function nbiBuild(...flags: string[]): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync("node", ["bin/netboot-lab.cjs", "nbi", "build", ...flags], { encoding: "utf8", stdio: "pipe" });
    return { code: 0, stdout, stderr: "" };
  } catch (error) {
    const failure = error as { status: number; stdout: string; stderr: string };
    return { code: failure.status, stdout: failure.stdout, stderr: failure.stderr };
  }
}

function mediaFlags(): string[] {
  return ["--booter", media.booter, "--kernel", media.kernel, "--extensions", media.extensions, "--root-image", media.rootImage];
}

describe("netboot-lab nbi build", () => {
  test("writes NAME.nbi with the NIC check and the root path it put in com.apple.Boot.plist", () => {
    const out = join(media.dir, "out");

    const result = nbiBuild(
      "--out",
      out,
      "--name",
      "Snow",
      "--server",
      "10.0.0.28",
      "--export",
      "/private/tftpboot/NetBoot/NetBootSP0",
      "--nic",
      "vmware-e1000",
      "--serial",
      ...mediaFlags(),
    );

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("NIC check (vmware-e1000): NIC vmware-e1000 — VMware e1000 (Intel 82545EM), PCI 8086:100F");
    expect(result.stdout).toContain("root path: nfs:10.0.0.28:/private/tftpboot/NetBoot/NetBootSP0:Snow.nbi/NetInstall.dmg");
    expect(readdirSync(join(out, "Snow.nbi", "i386")).sort()).toEqual(["booter", "com.apple.Boot.plist", "mach.macosx", "mach.macosx.mkext"]);
    const bootPlist = parse(readFileSync(join(out, "Snow.nbi", "i386", "com.apple.Boot.plist"), "utf8")) as Record<string, string>;
    expect(bootPlist["Kernel Flags"]).toBe("rd=*enet rp=nfs:10.0.0.28:/private/tftpboot/NetBoot/NetBootSP0:Snow.nbi/NetInstall.dmg -v serial=3");
  });

  test("a local-root-only mkext fails the NIC check, explains it and writes nothing", () => {
    const out = join(media.dir, "out");

    const result = nbiBuild(
      "--out",
      out,
      "--name",
      "Snow",
      "--server",
      "10.0.0.28",
      "--local-root",
      "--no-network-root",
      "--nic",
      "vmware-e1000",
      ...mediaFlags(),
    );

    expect(result.code).toBe(3);
    expect(result.stdout).toContain("no driver in the archive matches NIC vmware-e1000");
    expect(result.stderr).toContain("not writing Snow.nbi: no driver for vmware-e1000");
    expect(() => readdirSync(out)).toThrow();
  });

  test("a missing required flag exits 2 and names it", () => {
    const result = nbiBuild("--out", join(media.dir, "out"), "--name", "Snow", ...mediaFlags());

    expect(result.code).toBe(2);
    expect(result.stderr).toBe("netboot-lab: nbi build: --server is required (the NFS/HTTP server's address the client mounts its root from)\n");
  });

  test("a bad value is reported with its flag", () => {
    const result = nbiBuild("--out", join(media.dir, "out"), "--name", "Snow", "--server", "10.0.0.28", "--debug", "144", ...mediaFlags());

    expect(result.code).toBe(2);
    expect(result.stderr).toBe("netboot-lab: nbi build: --debug: must be a hex number such as 0x144\n");
  });

  test("a missing media file is named with its flag, without a stack trace", () => {
    const result = nbiBuild(
      "--out",
      join(media.dir, "out"),
      "--name",
      "Snow",
      "--server",
      "10.0.0.28",
      ...mediaFlags(),
      "--booter",
      join(media.dir, "nope.efi"),
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `netboot-lab: nbi build: --booter: ${join(media.dir, "nope.efi")} does not exist; give the path of the file copied from your Mac OS X media\n`,
    );
  });
});
