/**
 * `netboot-lab check` against the uefi stack applied to the local engine as the stack program
 * declares it: on the healthy lab the HTTP Boot client is asked as its firmware asks (vendor
 * class HTTPClient) and its GRUB core is fetched by URL, with no TFTP row; the ARM64 client is
 * asked as arch 11 and reads its arm64 GRUB over TFTP. With the echo gone from the running
 * dhcpd.conf, exactly the HTTP Boot row fails and names the missing echo as the cause.
 */
import { randomBytes, randomInt } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { dump } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckReport } from "../../lib/check/report";
import { readStackConfigMap } from "../../lib/model";
import { DHCPD_CONF_PATH } from "../../lib/servers/dhcpd";
import { applyToDocker, type AppliedLab } from "../support/docker-apply";
import { mergeConfig, PROJECT_DIR, runStack } from "../support/pulumi-harness";
import { testCaseLabels } from "../support/test-run";

const CLI = resolve(__dirname, "..", "..", "bin", "netboot-lab.cjs");
const BASE_IMAGE = process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm";
const id = randomBytes(3).toString("hex");
const net = `10.218.${randomInt(0, 256)}`;
const server = `${net}.2`;
const applyPrefix = `nbt${id}-`;
const prefix = `${applyPrefix}nbl-uefi`;
const labels = testCaseLabels(`uefi-check-${id}`);

let lab: AppliedLab | undefined;
let workDir: string;
let stackFile: string;
let renderedDhcpdConf: string;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "nbl-uefi-check-"));
  const stack = readStackConfigMap(join(PROJECT_DIR, "stacks", "Pulumi.uefi.yaml"));
  const clients = (stack["netboot-lab:clients"] as { ipv4: string }[]).map((client) => ({ ...client, ipv4: `${net}.${client.ipv4.split(".")[3]}` }));
  const overrides = {
    "netboot-lab:network": { subnet: `${net}.0/24`, serverAddress: server, bridge: `nbtbr${id}` },
    "netboot-lab:docker": { baseImage: BASE_IMAGE },
    "netboot-lab:clients": clients,
  };
  const config = mergeConfig(stack, { ...overrides, "netboot-lab:docker": { baseImage: BASE_IMAGE, namePrefix: prefix } });
  stackFile = join(workDir, "Pulumi.uefi.yaml");
  writeFileSync(stackFile, dump({ config }));
  const { resources, outputs } = await runStack("uefi", { configOverrides: overrides });
  renderedDhcpdConf = (outputs.configs as Record<string, string>)["dhcpd/dhcpd.conf"]!;
  lab = await applyToDocker(resources, { labels, namePrefix: applyPrefix });
}, 900_000);

afterAll(async () => {
  const left = await execa("docker", ["ps", "-aq", "--filter", `label=io.netboot-lab.lab=${prefix}`, "--filter", "label=io.netboot-lab.role=check"]);
  for (const container of left.stdout.split("\n").filter(Boolean)) await execa("docker", ["rm", "-f", container], { reject: false });
  await lab?.teardown();
  rmSync(workDir, { recursive: true, force: true });
});

async function checkJson(): Promise<CheckReport> {
  const result = await execa("node", [CLI, "check", "--stack", "uefi", "--config", stackFile, "--json"], { reject: false });
  return JSON.parse(result.stdout) as CheckReport;
}

describe("netboot-lab check on the deployed uefi lab", () => {
  it("asks the HTTP Boot client as its firmware does and fetches its GRUB core by URL; the ARM64 client as arch 11", async () => {
    const report = await checkJson();
    expect(report.rows.filter((row) => row.status === "fail")).toEqual([]);
    expect(report.rows.map((row) => `${row.client} ${row.kind} ${row.subject}`)).toEqual([
      "http-x64 dhcp http-boot",
      "http-x64 dhcp bootp",
      "http-x64 http linux-grub/boot/grub/x86_64-efi/core-http.efi",
      "efi-secure-boot dhcp pxe",
      "efi-secure-boot dhcp bootp",
      "efi-secure-boot tftp linux-signed/shimx64.efi",
      "arm64 dhcp pxe",
      "arm64 dhcp bootp",
      "arm64 tftp linux-grub-arm64/boot/grub/arm64-efi/core.efi",
      "(unknown) dhcp unknown-mac",
      "(network) dhcp other-servers",
    ]);
    expect(report.rows[0]!.detail).toContain(`file http://${server}/linux-grub/boot/grub/x86_64-efi/core-http.efi`);
  }, 300_000);

  it("names a dhcpd answer without the HTTPClient echo as why the HTTP Boot client would not boot", async () => {
    const dhcpd = `${prefix}-dhcpd`;
    await execa("docker", ["exec", dhcpd, "sed", "-i", '/option vendor-class-identifier "HTTPClient";/d', DHCPD_CONF_PATH]);
    await execa("docker", ["restart", dhcpd]);
    try {
      const failed = (await checkJson()).rows.filter((row) => row.status === "fail");
      expect(failed.map((row) => `${row.client} ${row.kind} ${row.subject}`)).toEqual(["http-x64 dhcp http-boot"]);
      expect(failed[0]!.detail).toContain('instead of the echo "HTTPClient": UEFI HTTP Boot firmware ignores such an offer and never fetches its URL');
    } finally {
      const conf = join(workDir, "dhcpd.conf");
      writeFileSync(conf, renderedDhcpdConf);
      await execa("docker", ["cp", conf, `${dhcpd}:${DHCPD_CONF_PATH}`]);
      await execa("docker", ["restart", dhcpd]);
    }
  }, 180_000);
});
