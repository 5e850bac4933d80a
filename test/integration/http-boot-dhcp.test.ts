/**
 * The dhcpd.conf the lab renders for UEFI HTTP Boot and ARM64 clients, served by a real ISC
 * dhcpd and asked by `netboot-lab probe dhcp` as each firmware asks: the HTTP Boot request gets
 * the URL and the HTTPClient echo, ARM64 PXE (arch 11) its arm64 GRUB, and an answer without
 * the echo is what `check` names as the cause. dhcpd runs in a namespace on a bridge this file
 * creates; everything is removed in afterAll, by name and by PID.
 */
import { randomInt } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { missingEchoProblem } from "../../lib/check/http-boot";
import { validateLab } from "../../lib/model";
import { renderDhcpdConf } from "../../lib/servers/dhcpd";
import { probeDhcp } from "../support/dhcp-clients";
import { createTestHost, uniqueName, type TestHost } from "../support/netns";

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

const bridge = uniqueName("br");
const FORWARD_RULE = ["FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"];
let server: TestHost | undefined;
const clients: TestHost[] = [];
let workDir: string | undefined;
let bridgeCreated = false;
let forwardRuleAdded = false;
let dhcpd: ResultPromise | undefined;
let dhcpdLog = "";

/** Starts (or restarts) dhcpd with `conf`. */
async function startDhcpd(conf: string): Promise<void> {
  await stopDhcpd();
  dhcpdLog = "";
  await writeFile(join(workDir!, "dhcpd.conf"), conf);
  await writeFile(join(workDir!, "dhcpd.leases"), "");
  const args = ["-4", "-f", "-d", "-cf", join(workDir!, "dhcpd.conf"), "-lf", join(workDir!, "dhcpd.leases"), "-pf", join(workDir!, "dhcpd.pid")];
  dhcpd = server!.run("/usr/sbin/dhcpd", [...args, server!.interfaceName], { reject: false, all: true });
  const started = new Promise<void>((resolveStarted) => {
    dhcpd!.all?.on("data", (chunk: Buffer) => {
      dhcpdLog += chunk.toString();
      if (dhcpdLog.includes("Server starting service.")) resolveStarted();
    });
  });
  const exited = dhcpd.then((result) => {
    throw new Error(`dhcpd exited (${result.exitCode}) before serving:\n${dhcpdLog}`);
  });
  await Promise.race([started, exited]);
}

async function stopDhcpd(): Promise<void> {
  if (!dhcpd) return;
  dhcpd.kill("SIGTERM"); // our own child, by PID
  await dhcpd;
  dhcpd = undefined;
}

async function host(mac: string): Promise<TestHost> {
  const created = await createTestHost({ bridge, mac });
  clients.push(created);
  return created;
}

beforeAll(async () => {
  await execa("ip", ["link", "add", bridge, "type", "bridge"]);
  bridgeCreated = true;
  await execa("ip", ["link", "set", bridge, "up"]);
  await execa("iptables", ["-I", ...FORWARD_RULE]);
  forwardRuleAdded = true;
  workDir = await mkdtemp(join(tmpdir(), "nbt-http-boot-"));
  server = await createTestHost({ bridge, address: `${SERVER}/24` });
  await startDhcpd(renderDhcpdConf(lab));
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.destroy();
});

afterAll(async () => {
  await stopDhcpd();
  for (const created of [...clients.splice(0), server]) await created?.destroy();
  if (bridgeCreated) await execa("ip", ["link", "del", bridge], { reject: false });
  if (forwardRuleAdded) await execa("iptables", ["-D", ...FORWARD_RULE], { reject: false });
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("the rendered dhcpd.conf, served by ISC dhcpd", () => {
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

  it("without the echo line, the answer is the one check names as why the firmware ignores it", async () => {
    await startDhcpd(
      renderDhcpdConf(lab)
        .split("\n")
        .filter((line) => !line.includes('option vendor-class-identifier "HTTPClient"'))
        .join("\n"),
    );
    const answer = await probeDhcp(await host(HTTP_MAC), { arch: "http-efi-x64", httpBoot: true, clientId: null });
    expect(answer).toMatchObject({ messageType: "DHCPOFFER", file: HTTP_CORE });
    expect(missingEchoProblem(answer!.options?.["vendor-class-identifier"] as string | undefined)).toMatch(
      /instead of the echo "HTTPClient": UEFI HTTP Boot firmware ignores/,
    );
  });
});
