/** The QEMU command of HTTP Boot and ARM64 guests, the host pre-checks that name their packages, and what `check` asks for them. */
import { describe, expect, it } from "vitest";
import { planChecks } from "../../lib/check/plan";
import { missingEchoProblem } from "../../lib/check/http-boot";
import { qemuLaunch } from "../../lib/client/qemu";
import { qemuHostProblems } from "../../lib/client/qemu-host";
import { validateLab } from "../../lib/model";
import { BootTimelines } from "../../lib/watch/timeline";
import { minimalLab } from "../model/fixtures";
import { fakeQemuHost } from "./fixtures";

const lab = validateLab(
  minimalLab({
    bootImages: [
      { name: "grub", kind: "grub" },
      { name: "arm", kind: "grub", arch: "arm64", linux: { cmdline: "console=ttyAMA0" } },
    ],
    clients: [
      { name: "http", mac: "52:54:00:00:00:01", ipv4: "10.77.0.10", firmware: "efi-x64", netboot: "http", bootImage: "grub" },
      { name: "arm", mac: "52:54:00:00:00:02", ipv4: "10.77.0.11", firmware: "efi-arm64", bootImage: "arm" },
    ],
  }),
);
const [httpClient, armClient] = lab.clients;
const choices = { accel: "tcg", attach: "tap" } as const;

describe("QEMU command", () => {
  it("HTTP Boot: no option ROM on the NIC and OVMF's PXE turned off, so the firmware's own HTTP Boot runs", () => {
    const launch = qemuLaunch(httpClient!, "nblab2", "/run/lab", choices);
    expect(launch.binary).toBe("qemu-system-x86_64");
    expect(launch.args.join(" ")).toContain("-device virtio-net-pci,netdev=lab,mac=52:54:00:00:00:01,romfile=,bootindex=0");
    expect(launch.args.join(" ")).toContain("-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n -fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n");
  });

  it("ARM64: qemu-system-aarch64's virt machine with AAVMF code read-only and its own copy of the variables", () => {
    const launch = qemuLaunch(armClient!, "nblab2", "/run/lab", choices);
    expect(launch.binary).toBe("qemu-system-aarch64");
    expect(launch.args.join(" ")).toContain("-machine virt -cpu cortex-a57 -accel tcg");
    expect(launch.args.join(" ")).toContain(
      "-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd -drive if=pflash,format=raw,unit=1,file=/run/lab/arm.efivars.fd",
    );
    expect(launch.copies).toEqual([{ from: "/usr/share/AAVMF/AAVMF_VARS.fd", to: "/run/lab/arm.efivars.fd" }]);
    expect(launch.args.join(" ")).not.toContain("fw_cfg");
  });
});

describe("QEMU host pre-checks", () => {
  it("name qemu-system-arm and qemu-efi-aarch64 when they are missing", () => {
    const bare = fakeQemuHost({ which: () => undefined, fileExists: () => false });
    const problems = qemuHostProblems([armClient!], "nblab2", bare);
    expect(problems).toContain('clients "arm": qemu-system-aarch64 is not on PATH; install the Debian package qemu-system-arm');
    expect(problems).toContain(
      'clients "arm": the arm64 UEFI firmware (AAVMF) /usr/share/AAVMF/AAVMF_CODE.fd is missing; install the Debian package qemu-efi-aarch64 (apt-get install qemu-efi-aarch64)',
    );
  });
});

describe("check", () => {
  it("asks as the HTTP Boot firmware does (vendor class HTTPClient, arch 16) and expects the URL and the echo", () => {
    const [http, arm] = planChecks(lab).clients;
    expect(http!.dhcp[0]).toMatchObject({
      id: "http-boot",
      identity: { clientArch: 16, vendorClass: "HTTPClient:Arch:00016:UNDI:003000" },
      bootFile: "http://10.77.0.2/grub/boot/grub/x86_64-efi/core-http.efi",
      echoVendorClass: "HTTPClient",
    });
    expect(http!.tftp).toEqual([]);
    expect(http!.http).toEqual(["http://10.77.0.2/grub/boot/grub/x86_64-efi/core-http.efi"]);
    expect(arm!.dhcp[0]).toMatchObject({ id: "pxe", sender: "PXE ROM (EFI arm64, arch 11)", bootFile: "arm/boot/grub/arm64-efi/core.efi" });
  });

  it("names a missing HTTPClient echo as why the firmware ignores the answer", () => {
    expect(missingEchoProblem("HTTPClient")).toBeUndefined();
    expect(missingEchoProblem(undefined)).toBe(
      'no vendor class (option 60) in the answer instead of the echo "HTTPClient": UEFI HTTP Boot firmware ignores such an offer and never fetches its URL',
    );
  });
});

describe("watch", () => {
  it("calls out an HTTP Boot client that took no offer with the HTTPClient echo as the likely cause", () => {
    const start = new Date("2026-12-05T08:00:00Z");
    const timelines = new BootTimelines(lab.clients, { stallSeconds: 30 });
    timelines.add(start, { kind: "dhcp", message: "DHCPOFFER", mac: "52:54:00:00:00:01", ip: "10.77.0.10" });
    timelines.add(start, { kind: "dhcp", message: "DHCPOFFER", mac: "52:54:00:00:00:02", ip: "10.77.0.11" });
    expect(timelines.stalls(new Date(start.getTime() + 30_000)).map((entry) => [entry.client, entry.text])).toEqual([
      [
        "http",
        "OFFER sent 30 s ago, no REQUEST: UEFI HTTP Boot firmware ignores an offer that does not echo vendor class HTTPClient with a URL as boot file (netboot-lab check shows whether dhcpd's answer has the echo)",
      ],
      ["arm", "OFFER sent 30 s ago, no REQUEST: the client did not take the offer (another DHCP server answered first, or its firmware refused the offer)"],
    ]);
  });
});
