/** `netboot-lab render` of the uefi stack: what a user reads and runs for HTTP Boot and ARM64 guests. */
import { execa } from "execa";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";

const out = mkdtempSync(join(tmpdir(), "nbl-render-uefi-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it("writes the HTTP Boot client's URL and QEMU command, and the ARM64 client's aarch64 command with its AAVMF vars copy", async () => {
  const result = await execa("node", ["bin/netboot-lab.cjs", "render", "--stack", "uefi", "--out", out], { reject: false });
  expect(result.stderr).toBe("");
  expect(result.exitCode).toBe(0);
  const lab = JSON.parse(readFileSync(join(out, "lab.json"), "utf8"));
  expect(lab.clients).toEqual([
    expect.objectContaining({
      name: "http-x64",
      firmware: "efi-x64",
      netboot: "http",
      nic: "qemu-virtio",
      bootFile: "http://10.78.0.2/linux-grub/boot/grub/x86_64-efi/core-http.efi",
    }),
    expect.objectContaining({
      name: "efi-secure-boot",
      firmware: "efi-x64",
      netboot: "pxe",
      nic: "qemu-virtio",
      bootFile: "linux-signed/shimx64.efi",
    }),
    expect.objectContaining({
      name: "arm64",
      firmware: "efi-arm64",
      netboot: "pxe",
      nic: "qemu-virtio",
      bootFile: "linux-grub-arm64/boot/grub/arm64-efi/core.efi",
    }),
  ]);
  const http = readFileSync(join(out, "clients", "http-x64.qemu.sh"), "utf8");
  expect(http).toContain("exec qemu-system-x86_64");
  expect(http).toContain("-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n");
  expect(http).toMatch(/-device virtio-net-pci,netdev=lab,mac=52:54:00:78:00:10,romfile=,bootindex=0\n/);
  const arm = readFileSync(join(out, "clients", "arm64.qemu.sh"), "utf8");
  expect(arm).toMatch(/\[ -e \S+\/arm64\.efivars\.fd \] \|\| cp \/usr\/share\/AAVMF\/AAVMF_VARS\.fd \S+\/arm64\.efivars\.fd/);
  expect(arm).toContain("exec qemu-system-aarch64");
  expect(arm).toContain("-machine virt \\\n  -cpu cortex-a57");
  const check = await execa("dhcpd", ["-t", "-4", "-cf", join(out, "dhcpd/dhcpd.conf")], { reject: false });
  expect(check.exitCode, check.stderr).toBe(0);
});
