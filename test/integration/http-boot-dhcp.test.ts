/**
 * What the lab's DHCP servers, as they are rendered (ISC dhcpd and Kea, run by
 * test/support/dhcp-daemons.ts), answer UEFI HTTP Boot and ARM64 firmware, asked by
 * `netboot-lab probe dhcp` as each firmware asks: the HTTP Boot request gets the URL and the
 * HTTPClient echo, the same client's PXE request its TFTP file and no echo, ARM64 PXE (arch 11)
 * its arm64 GRUB. Everything runs on a bridge this file creates, removed in afterAll.
 */
import { randomInt } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { missingEchoProblem } from "../../lib/check/http-boot";
import { validateLab } from "../../lib/model";
import { probeDhcp } from "../support/dhcp-clients";
import { startDhcpServer, type DhcpServerKind, type RunningDhcpServer } from "../support/dhcp-daemons";
import { createTestBridge, createTestHost, type TestHost } from "../support/netns";

const NET = `10.214.${randomInt(100, 200)}`;
const SERVER = `${NET}.2`;
const HTTP_MAC = "52:54:00:78:00:10";
const ARM_MAC = "52:54:00:78:00:11";
const HTTP_CORE = `http://${SERVER}/linux-grub/boot/grub/x86_64-efi/core-http.efi`;

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

let bridge: { name: string; destroy(): Promise<void> } | undefined;
let server: TestHost | undefined;
const clients: TestHost[] = [];
const workDir = mkdtempSync(join(tmpdir(), "nbt-http-boot-"));

async function host(mac: string): Promise<TestHost> {
  const created = await createTestHost({ bridge: bridge!.name, mac });
  clients.push(created);
  return created;
}

beforeAll(async () => {
  bridge = await createTestBridge();
  server = await createTestHost({ bridge: bridge.name, address: `${SERVER}/24` });
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.destroy();
});

afterAll(async () => {
  await server?.destroy();
  await bridge?.destroy();
  rmSync(workDir, { recursive: true, force: true });
});

describe.each(["isc", "kea"] as DhcpServerKind[])("the rendered %s config", (kind) => {
  let daemon: RunningDhcpServer | undefined;
  beforeAll(async () => {
    const dir = join(workDir, kind);
    mkdirSync(dir);
    daemon = await startDhcpServer(kind, lab, server!, dir);
  });
  afterAll(() => daemon?.stop());

  it("answers UEFI HTTP Boot (vendor class HTTPClient, arch 16) with the GRUB core's URL and echoes HTTPClient", async () => {
    const answer = await probeDhcp(await host(HTTP_MAC), { arch: "http-efi-x64", httpBoot: true, clientId: null });
    expect(answer).toMatchObject({ messageType: "DHCPOFFER", yiaddr: `${NET}.10`, file: HTTP_CORE, options: { "vendor-class-identifier": "HTTPClient" } });
    expect(missingEchoProblem(answer!.options?.["vendor-class-identifier"] as string)).toBeUndefined();
  });

  it("answers the same client's PXE request with its TFTP file and no echo", async () => {
    const answer = await probeDhcp(await host(HTTP_MAC), { arch: "efi-bc", clientId: null });
    expect(answer).toMatchObject({ messageType: "DHCPOFFER", file: "linux-grub/boot/grub/x86_64-efi/core.efi" });
    expect(answer!.options?.["vendor-class-identifier"]).toBeUndefined();
  });

  it("answers ARM64 PXE (arch 11, PXEClient:Arch:00011) with the arm64 GRUB core", async () => {
    const answer = await probeDhcp(await host(ARM_MAC), { arch: "efi-arm64", clientId: null });
    expect(answer).toMatchObject({ messageType: "DHCPOFFER", yiaddr: `${NET}.11`, file: "linux-grub-arm64/boot/grub/arm64-efi/core.efi" });
  });
});
