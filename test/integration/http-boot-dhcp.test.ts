/**
 * The dhcpd.conf the lab renders for UEFI HTTP Boot and ARM64 clients, served by a real ISC
 * dhcpd and asked by `netboot-lab probe dhcp` as each firmware asks: the HTTP Boot request gets
 * the URL and the HTTPClient echo, ARM64 PXE (arch 11) its arm64 GRUB, and an answer without
 * the echo is what `check` names as the cause. dhcpd runs on a bridge of its own
 * (test/support/test-dhcpd.ts), removed in afterAll.
 */
import { randomInt } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { missingEchoProblem } from "../../lib/check/http-boot";
import { validateLab } from "../../lib/model";
import { renderDhcpdConf } from "../../lib/servers/dhcpd";
import { probeDhcp } from "../support/dhcp-clients";
import { startTestDhcpd, type TestDhcpd } from "../support/test-dhcpd";

const NET = `10.214.${randomInt(100, 200)}`;
const SERVER = `${NET}.2`;
const HTTP_MAC = "52:54:00:78:00:10";
const ARM_MAC = "52:54:00:78:00:11";

const lab = validateLab({
  network: { subnet: `${NET}.0/24`, serverAddress: SERVER },
  bootImages: [
    { name: "linux-grub", kind: "grub" },
    { name: "linux-grub-arm64", kind: "grub", arch: "arm64", linux: { cmdline: "console=ttyAMA0" } },
  ],
  clients: [
    { name: "http-x64", mac: HTTP_MAC, ipv4: `${NET}.10`, firmware: "efi-x64", netboot: "http", bootImage: "linux-grub" },
    { name: "arm64", mac: ARM_MAC, ipv4: `${NET}.11`, firmware: "efi-arm64", bootImage: "linux-grub-arm64" },
  ],
});
const HTTP_CORE = `http://${SERVER}/linux-grub/boot/grub/x86_64-efi/core-http.efi`;

let dhcpd: TestDhcpd | undefined;

beforeAll(async () => {
  dhcpd = await startTestDhcpd(SERVER, renderDhcpdConf(lab));
});
afterEach(() => dhcpd?.removeClients());
afterAll(() => dhcpd?.teardown());

describe("the rendered dhcpd.conf, served by ISC dhcpd", () => {
  it("answers UEFI HTTP Boot (vendor class HTTPClient, arch 16) with the GRUB core's URL and echoes HTTPClient", async () => {
    const answer = await probeDhcp(await dhcpd!.host({ mac: HTTP_MAC }), { arch: "http-efi-x64", httpBoot: true, clientId: null });
    expect(answer).toMatchObject({ messageType: "DHCPOFFER", yiaddr: `${NET}.10`, file: HTTP_CORE, options: { "vendor-class-identifier": "HTTPClient" } });
    expect(missingEchoProblem(answer!.options?.["vendor-class-identifier"] as string)).toBeUndefined();
  });

  it("answers the same client's PXE request with its TFTP file and no echo", async () => {
    const answer = await probeDhcp(await dhcpd!.host({ mac: HTTP_MAC }), { arch: "efi-bc", clientId: null });
    expect(answer).toMatchObject({ messageType: "DHCPOFFER", file: "linux-grub/boot/grub/x86_64-efi/core.efi" });
    expect(answer!.options?.["vendor-class-identifier"]).toBeUndefined();
  });

  it("answers ARM64 PXE (arch 11, PXEClient:Arch:00011) with the arm64 GRUB core", async () => {
    const answer = await probeDhcp(await dhcpd!.host({ mac: ARM_MAC }), { arch: "efi-arm64", clientId: null });
    expect(answer).toMatchObject({ messageType: "DHCPOFFER", yiaddr: `${NET}.11`, file: "linux-grub-arm64/boot/grub/arm64-efi/core.efi" });
  });

  it("without the echo line, the answer is the one check names as why the firmware ignores it", async () => {
    await dhcpd!.restart(
      renderDhcpdConf(lab)
        .split("\n")
        .filter((line) => !line.includes('option vendor-class-identifier "HTTPClient"'))
        .join("\n"),
    );
    const answer = await probeDhcp(await dhcpd!.host({ mac: HTTP_MAC }), { arch: "http-efi-x64", httpBoot: true, clientId: null });
    expect(answer).toMatchObject({ messageType: "DHCPOFFER", file: HTTP_CORE });
    expect(missingEchoProblem(answer!.options?.["vendor-class-identifier"] as string | undefined)).toMatch(
      /instead of the echo "HTTPClient": UEFI HTTP Boot firmware ignores/,
    );
  });
});
