/**
 * `netboot-lab check` and `watch` against a kvm lab applied to the local engine, exactly as the
 * stack program declares it (with a stand-in Darwin image): check passes on the healthy lab, and
 * each fault a user meets makes exactly its own rows fail with the right reason; watch follows a
 * real QEMU boot from DHCP through HTTP to the NFS root.
 */
import { randomBytes, randomInt } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { dump } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMkext } from "../../lib/darwin";
import type { CheckReport, CheckRow } from "../../lib/check/report";
import { readStackConfigMap } from "../../lib/model";
import { NFS_ROOT_MARKER } from "../../lib/pxe";
import { DHCPD_CONF_PATH } from "../../lib/servers/dhcpd";
import { darwinImage, darwinMedia, type DarwinMedia } from "../boot-image/fixtures";
import { applyToDocker, type AppliedLab } from "../support/docker-apply";
import { startForeignDhcpd } from "../support/foreign-dhcpd";
import { createTap } from "../support/netns";
import { mergeConfig, PROJECT_DIR, runStack } from "../support/pulumi-harness";
import { bootGuest, tapNetwork } from "../support/qemu";
import { dockerObjectsOf, testCaseLabels } from "../support/test-run";

const CLI = resolve(__dirname, "..", "..", "bin", "netboot-lab.cjs");
const BASE_IMAGE = process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm";
const id = randomBytes(3).toString("hex");
const net = `10.217.${randomInt(0, 256)}`;
const server = `${net}.2`;
const bridge = `nbtbr${id}`;
/** applyToDocker prepends this to every name (build containers included, so parallel runs never collide). */
const applyPrefix = `nbt${id}-`;
/** The lab's names on the engine, as the check's stack file states them: the stack's default prefix behind applyPrefix. */
const prefix = `${applyPrefix}nbl-kvm`;
const labels = testCaseLabels(`diagnostics-${id}`);

const CLIENTS = {
  "bios-ipxe": { mac: "52:54:00:6e:00:10", ipv4: `${net}.10`, firmware: "bios", bootImage: "linux-ipxe" },
  "efi-grub": { mac: "52:54:00:6e:00:11", ipv4: `${net}.11`, firmware: "efi-x64", bootImage: "linux-grub" },
  "pool-grub": { mac: "52:54:00:6e:00:12", firmware: "bios", bootImage: "linux-grub" },
  mac: { mac: "00:50:56:2e:00:13", ipv4: `${net}.13`, platform: "fusion", firmware: "efi-x64", nic: "vmware-e1000", bootImage: "snow" },
} as const;

let lab: AppliedLab | undefined;
let media: DarwinMedia | undefined;
let workDir: string;
let stackFile: string;
let renderedDhcpdConf: string;

beforeAll(async () => {
  media = darwinMedia();
  workDir = mkdtempSync(join(tmpdir(), "nbl-diagnostics-"));
  const overrides = {
    "netboot-lab:network": { subnet: `${net}.0/24`, serverAddress: server, bridge },
    "netboot-lab:docker": { baseImage: BASE_IMAGE },
    "netboot-lab:bootImages": [{ name: "linux-ipxe", kind: "ipxe", nfsRoot: true }, { name: "linux-grub", kind: "grub", nfsRoot: true }, darwinImage(media)],
    "netboot-lab:clients": Object.entries(CLIENTS).map(([name, client]) => ({ name, ...client })),
  };
  // The stack file `check --config` reads: the kvm stack with this run's overrides, as the engine would see it.
  const config = mergeConfig(readStackConfigMap(join(PROJECT_DIR, "stacks", "Pulumi.kvm.yaml")), {
    ...overrides,
    "netboot-lab:docker": { baseImage: BASE_IMAGE, namePrefix: prefix },
  });
  stackFile = join(workDir, "Pulumi.kvm.yaml");
  writeFileSync(stackFile, dump({ config }));
  const { resources, outputs } = await runStack("kvm", { configOverrides: overrides });
  renderedDhcpdConf = (outputs.configs as Record<string, string>)["dhcpd/dhcpd.conf"]!;
  lab = await applyToDocker(resources, { labels, namePrefix: applyPrefix });
}, 900_000);

afterAll(async () => {
  // A probe (check) or capture (watch) container left by an interrupted command would keep the network from being removed.
  for (const role of ["check", "watch"]) {
    const left = await execa("docker", ["ps", "-aq", "--filter", `label=io.netboot-lab.lab=${prefix}`, "--filter", `label=io.netboot-lab.role=${role}`]);
    for (const container of left.stdout.split("\n").filter(Boolean)) await execa("docker", ["rm", "-f", container], { reject: false });
  }
  await lab?.teardown();
  media?.cleanup();
  rmSync(workDir, { recursive: true, force: true });
});

async function check(...args: string[]) {
  return execa("node", [CLI, "check", "--stack", "kvm", "--config", stackFile, ...args], { reject: false });
}

async function checkJson(): Promise<{ exitCode: number; report: CheckReport; failed: CheckRow[] }> {
  const result = await check("--json");
  const report = JSON.parse(result.stdout) as CheckReport;
  return { exitCode: result.exitCode ?? -1, report, failed: report.rows.filter((row) => row.status === "fail") };
}

const labelArgs = () => ["--label", `${Object.keys(labels)[0]}=${Object.values(labels)[0]}`];

/** Runs a shell command in a throwaway container with the boot tree mounted writable (what a broken build or a user would do). */
async function inBootTree(script: string, input?: Buffer): Promise<void> {
  await execa(
    "docker",
    ["run", "--rm", "-i", ...labelArgs(), "-v", `${prefix}-boot-tree:/tree`, "--entrypoint", "sh", BASE_IMAGE, "-c", script],
    input ? { input } : {},
  );
}

const docker = (...args: string[]) => execa("docker", args);

describe("netboot-lab check on the deployed kvm lab", () => {
  it("passes every check of every client on the healthy lab, and says so with exit 0", async () => {
    const result = await check();
    writeFileSync(join(tmpdir(), `netboot-lab-check-healthy-${id}.txt`), result.stdout);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/all \d+ checks passed/);
    const { report } = await checkJson();
    expect(report).toMatchObject({ version: 1, stack: "kvm", serverAddress: server, ok: true });
    const rows = report.rows.map((row) => `${row.client} ${row.kind} ${row.subject}`);
    expect(rows).toEqual([
      "bios-ipxe dhcp pxe",
      "bios-ipxe dhcp ipxe",
      "bios-ipxe dhcp bootp",
      "bios-ipxe tftp linux-ipxe/undionly.kpxe",
      "bios-ipxe http linux-ipxe/boot.ipxe",
      "bios-ipxe http linux-ipxe/vmlinuz",
      "bios-ipxe http linux-ipxe/initrd.img",
      "bios-ipxe nfs v3",
      "bios-ipxe nfs v4",
      "efi-grub dhcp pxe",
      "efi-grub dhcp bootp",
      "efi-grub tftp linux-grub/boot/grub/x86_64-efi/core.efi",
      "efi-grub nfs v3",
      "efi-grub nfs v4",
      "pool-grub dhcp pxe",
      "pool-grub tftp linux-grub/boot/grub/i386-pc/core.0",
      "pool-grub nfs v3",
      "pool-grub nfs v4",
      "mac dhcp pxe",
      "mac dhcp bootp",
      "mac tftp snow/Snow.nbi/i386/booter",
      "mac nfs v3",
      "mac nfs v4",
      "mac mkext nic",
      "(unknown) dhcp unknown-mac",
      "(network) dhcp other-servers",
    ]);
    expect(report.rows.find((row) => row.client === "mac" && row.kind === "mkext")?.detail).toContain("AppleIntel8254XEthernet");
  }, 300_000);

  it("checks one client with --client", async () => {
    const { exitCode, report } = await (async () => {
      const result = await check("--client", "efi-grub", "--json");
      return { exitCode: result.exitCode, report: JSON.parse(result.stdout) as CheckReport };
    })();
    expect(exitCode).toBe(0);
    expect(new Set(report.rows.map((row) => row.client))).toEqual(new Set(["efi-grub"]));
  }, 120_000);

  it("a boot file deleted from the volume fails its TFTP row only, naming the file and the build", async () => {
    await inBootTree("mv /tree/linux-ipxe/undionly.kpxe /tree/linux-ipxe/undionly.kpxe.moved");
    try {
      const result = await check();
      writeFileSync(join(tmpdir(), `netboot-lab-check-broken-${id}.txt`), result.stdout);
      expect(result.exitCode).toBe(1);
      const { failed } = await checkJson();
      expect(failed).toEqual([
        expect.objectContaining({
          client: "bios-ipxe",
          kind: "tftp",
          subject: "linux-ipxe/undionly.kpxe",
          detail: "linux-ipxe/undionly.kpxe missing from the boot tree",
          fix: expect.stringContaining("pulumi stack output bootImages"),
        }),
      ]);
    } finally {
      await inBootTree("mv /tree/linux-ipxe/undionly.kpxe.moved /tree/linux-ipxe/undionly.kpxe");
    }
  }, 180_000);

  it("a stopped TFTP container fails every TFTP row and nothing else, naming the container", async () => {
    await docker("stop", `${prefix}-tftp`);
    try {
      const { failed } = await checkJson();
      expect(failed.map((row) => `${row.client} ${row.kind}`)).toEqual(["bios-ipxe tftp", "efi-grub tftp", "pool-grub tftp", "mac tftp"]);
      for (const row of failed) {
        expect(row.detail).toMatch(
          new RegExp(`^the TFTP server at ${server.replace(/\./g, "\\.")}:69 does not answer: its container ${prefix}-tftp is exited`),
        );
        expect(row.fix).toContain(`docker start ${prefix}-tftp`);
      }
    } finally {
      await docker("start", `${prefix}-tftp`);
    }
  }, 180_000);

  it("a stopped NFS container fails every NFS row and nothing else, naming the container", async () => {
    await docker("stop", `${prefix}-nfs`);
    try {
      const { failed } = await checkJson();
      expect(failed.map((row) => `${row.client} ${row.kind} ${row.subject}`)).toEqual(
        ["bios-ipxe", "efi-grub", "pool-grub", "mac"].flatMap((client) => [`${client} nfs v3`, `${client} nfs v4`]),
      );
      for (const row of failed) expect(row.detail).toContain(`does not answer: its container ${prefix}-nfs is exited`);
    } finally {
      await docker("start", `${prefix}-nfs`);
    }
  }, 240_000);

  it("a client's reservation removed from dhcpd.conf fails that client's DHCP rows, saying the host entry is gone", async () => {
    const dhcpd = `${prefix}-dhcpd`;
    await docker("exec", dhcpd, "sed", "-i", `/hardware ethernet ${CLIENTS["efi-grub"].mac};/d`, DHCPD_CONF_PATH);
    await docker("restart", dhcpd);
    try {
      const { failed } = await checkJson();
      expect(failed.map((row) => `${row.client} ${row.kind} ${row.subject}`)).toEqual(["efi-grub dhcp pxe", "efi-grub dhcp bootp"]);
      for (const row of failed) expect(row.detail).toContain(`the running dhcpd.conf has no host entry for ${CLIENTS["efi-grub"].mac}`);
    } finally {
      const conf = join(workDir, "dhcpd.conf");
      writeFileSync(conf, renderedDhcpdConf);
      await docker("cp", conf, `${dhcpd}:${DHCPD_CONF_PATH}`);
      await docker("restart", dhcpd);
    }
  }, 180_000);

  it("a darwin-nbi mkext without the NIC's driver fails the mkext row, naming the NIC and the fix", async () => {
    const mkextPath = "/tree/snow/Snow.nbi/i386/mach.macosx.mkext";
    // What kextcache -m -l builds: local-root drivers only, so AppleIntel8254XEthernet (Network-Root) is left out.
    const { archive } = buildMkext({ paths: [media!.extensions], format: 2, arch: "i386", localRoot: true, networkRoot: false, safeBoot: false });
    await inBootTree(`cp ${mkextPath} ${mkextPath}.built && cat > ${mkextPath}`, archive);
    try {
      const { failed } = await checkJson();
      expect(failed).toEqual([
        expect.objectContaining({
          client: "mac",
          kind: "mkext",
          subject: "nic",
          detail: expect.stringMatching(/^snow\/Snow\.nbi\/i386\/mach\.macosx\.mkext: no driver in the archive matches NIC vmware-e1000 .*finding root/),
          fix: expect.stringContaining("--network-root"),
        }),
      ]);
    } finally {
      await inBootTree(`mv ${mkextPath}.built ${mkextPath}`);
    }
  }, 180_000);

  it("a foreign DHCP server on the lab bridge fails the other-servers row only, naming its address and server-id", async () => {
    const foreign = await startForeignDhcpd({ bridge, net, host: 3, poolStart: 150, poolEnd: 199 });
    const at = net.replace(/\./g, "\\.");
    try {
      const { exitCode, failed } = await checkJson();
      expect(exitCode).toBe(1);
      expect(failed).toEqual([
        expect.objectContaining({
          client: "(network)",
          kind: "dhcp",
          subject: "other-servers",
          detail: expect.stringMatching(
            new RegExp(`^another DHCP server answers on the lab network: ${at}\\.3 \\(server-id ${at}\\.3\\) sent DHCPOFFER ${at}\\.1[5-9]\\d to `),
          ),
          fix: expect.stringContaining("set servers.dhcp.mode: proxy"),
        }),
      ]);
    } finally {
      await foreign.stop();
    }
  }, 180_000);

  it("exits 2 with the fix when the stack is not deployed", async () => {
    const result = await execa("node", [CLI, "check", "--stack", "kvm"], { reject: false, cwd: PROJECT_DIR, env: { ...process.env } });
    // The repository's own kvm stack (nbl-kvm) is not deployed on the test engine.
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("there is no Docker network nbl-kvm");
  });
});

/** Runs `watch --client` while the client's QEMU guest boots to its NFS root; returns watch's output and its final timeline. */
async function watchBoot(client: "bios-ipxe" | "efi-grub"): Promise<{ output: string; stages: string[]; times: number[] }> {
  const watch = execa("node", [CLI, "watch", "--stack", "kvm", "--config", stackFile, "--client", client, "--stall-after", "120"], {
    reject: false,
    buffer: true,
  });
  let output = "";
  watch.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  try {
    await expect.poll(() => output, { timeout: 30_000 }).toContain(`watching client ${client}`);
    const tap = await createTap(bridge);
    try {
      const firmware = CLIENTS[client].firmware === "bios" ? "bios" : "efi";
      await bootGuest({ firmware, network: tapNetwork(tap.name, CLIENTS[client].mac), until: new RegExp(NFS_ROOT_MARKER), timeoutMs: 300_000 });
    } finally {
      await tap.destroy();
    }
    await expect.poll(() => output, { timeout: 20_000 }).toContain("NFSv3 MOUNT");
  } finally {
    watch.kill("SIGINT");
    await watch;
  }
  writeFileSync(join(tmpdir(), `netboot-lab-watch-${client}-${id}.txt`), output);
  const lines = output
    .split("\ntimelines:\n")[1]!
    .split("\n")
    .filter((line) => /^\s+\+/.test(line));
  return {
    output,
    stages: lines.map((line) => line.replace(/^\s+\+\s*[\d.]+ s\s+/, "")),
    times: lines.map((line) => Number(/\+\s*([\d.]+) s/.exec(line)![1])),
  };
}

const captureContainers = async () =>
  (await execa("docker", ["ps", "-aq", "--filter", `label=io.netboot-lab.lab=${prefix}`, "--filter", "label=io.netboot-lab.role=watch"])).stdout.trim();

describe("netboot-lab watch on the deployed kvm lab", () => {
  it("prints a real QEMU boot's DHCP, HTTP and NFS stages in order, with times that grow, and removes its capture container", async () => {
    const { output, stages, times } = await watchBoot("bios-ipxe");
    expect(output).toContain(`TFTP transfers captured in ${prefix}-pod`);
    const first = (pattern: RegExp) => stages.findIndex((stage) => pattern.test(stage));
    expect(first(/^DHCPACK /)).toBeGreaterThanOrEqual(0);
    expect(first(/^HTTP GET \/linux-ipxe\/boot\.ipxe 200/)).toBeGreaterThan(first(/^DHCPACK /));
    expect(first(/^HTTP GET \/linux-ipxe\/vmlinuz 200, 8\d{6} bytes/)).toBeGreaterThan(first(/boot\.ipxe/));
    expect(first(/^NFSv3 MOUNT/)).toBeGreaterThan(first(/vmlinuz/));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // The whole boot under TCG takes seconds to minutes, not hours.
    expect(times[times.length - 1]).toBeLessThan(600);
    expect(output).not.toContain("STALLED");
    expect(await captureContainers()).toBe("");
  }, 420_000);

  it("shows each TFTP transfer of an EFI GRUB boot with its blksize and every byte of the file", async () => {
    // QEMU's iPXE is handed no script for bios-ipxe (it fetches boot.ipxe over HTTP); efi-grub loads GRUB's core.efi over TFTP.
    const { output, stages, times } = await watchBoot("efi-grub");
    const coreEfi = "linux-grub/boot/grub/x86_64-efi/core.efi";
    const size = await execa("docker", [
      "run",
      "--rm",
      ...labelArgs(),
      "-v",
      `${prefix}-boot-tree:/tree:ro`,
      BASE_IMAGE,
      "stat",
      "-c",
      "%s",
      `/tree/${coreEfi}`,
    ]);
    const sent = new RegExp(`^TFTP sent ${coreEfi.replace(/\./g, "\\.")}: ${size.stdout.trim()} bytes in \\d+ blocks of blksize \\d+, [\\d.]+ s$`);
    const first = (pattern: RegExp) => stages.findIndex((stage) => pattern.test(stage));
    expect(stages).toContainEqual(expect.stringMatching(sent));
    expect(first(sent)).toBeGreaterThan(first(/^DHCPACK /));
    expect(first(/^NFSv3 MOUNT/)).toBeGreaterThan(first(sent));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(output).not.toContain("STALLED");
    expect(await captureContainers()).toBe("");
  }, 480_000);
});

describe("teardown", () => {
  it("removes the lab's containers, networks and volumes", async () => {
    await lab?.teardown();
    expect(await dockerObjectsOf(labels)).toEqual([]);
  });
});
