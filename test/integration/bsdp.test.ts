/**
 * BSDP on a real lab network: the kvm stack with two darwin-nbi images from stand-in media,
 * applied to the local engine as the components declare it (dhcpd and the BSDP responder
 * sharing UDP 67 in the pod's namespace, the images built by the real builder), asked by the
 * product's own `netboot-lab bsdp` acting as a Mac, from a container on the lab network and
 * from a network namespace on its bridge, and by PXE and BOOTP clients that must not notice.
 */
import { createHash, randomBytes, randomInt } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { dump } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BsdpAnswer } from "../../lib/bsdp/client";
import { readStackConfigMap, stackFilePath } from "../../lib/model";
import { darwinImage, darwinMedia } from "../boot-image/fixtures";
import { probeDhcp, routeBroadcastsThroughEth0, type ProbeReply } from "../support/dhcp-clients";
import { applyToDocker, type AppliedLab } from "../support/docker-apply";
import { createTestHost, type TestHost } from "../support/netns";
import { mergeConfig, PROJECT_DIR, runStack } from "../support/pulumi-harness";
import { dockerObjectsOf, testCaseLabels } from "../support/test-run";

const CLI = resolve(__dirname, "..", "..", "bin", "netboot-lab.cjs");
const BASE_IMAGE = process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm";
const id = randomBytes(3).toString("hex");
const net = `10.218.${randomInt(0, 256)}`;
const server = `${net}.2`;
const bridge = `nbtbr${id}`;
const prefix = `nbt${id}`;
const labels = testCaseLabels(`bsdp-${id}`);
const MAC_GUEST = "00:50:56:00:00:28";
const MAC_HIDDEN = "00:50:56:00:00:66";
const PXE_MAC = "52:54:00:5e:00:10";

const media = darwinMedia();
const SNOW = "0x81000101";
const LION = "0x01000102";

const overrides = {
  "netboot-lab:network": { subnet: `${net}.0/24`, serverAddress: server, bridge, pools: [{ start: `${net}.100`, end: `${net}.120` }] },
  "netboot-lab:docker": { baseImage: BASE_IMAGE, namePrefix: prefix },
  "netboot-lab:bootImages": [
    { name: "linux", kind: "ipxe" },
    darwinImage(media, { index: 0x101, bsdp: { disabledMacAddresses: [MAC_HIDDEN] } }),
    darwinImage(media, {
      name: "lion",
      nbiName: "Lion",
      description: "Lion NetBoot",
      protocol: "http",
      index: 0x102,
      bsdp: { install: false, enabledSystemIdentifiers: ["MacPro5,1", "MacPro3,1"] },
    }),
  ],
  "netboot-lab:clients": [
    { name: "pxe", mac: PXE_MAC, ipv4: `${net}.10`, firmware: "efi-x64", bootImage: "linux" },
    { name: "guest", mac: MAC_GUEST, ipv4: `${net}.40`, platform: "fusion", firmware: "efi-x64", nic: "vmware-e1000", bootImage: "snow" },
  ],
  "netboot-lab:bsdp": { defaultImage: "lion", serverPriority: 40000 },
};

const projectDir = mkdtempSync(join(tmpdir(), "nbt-bsdp-project-"));
let lab: AppliedLab | undefined;
const hosts: TestHost[] = [];

async function host(options: { mac?: string; address?: string } = {}): Promise<TestHost> {
  const created = await createTestHost({ bridge, ...options });
  hosts.push(created);
  return created;
}

/**
 * `netboot-lab bsdp …` as a user runs it on the Docker host: the stand-in Mac is a container on
 * the lab network that sends its INFORMs to the server address (the namespace Macs below
 * broadcast them: the responder's two sockets are both exercised).
 */
async function bsdpFromLab(args: string[]): Promise<{ exitCode: number; answer?: BsdpAnswer; stderr: string }> {
  const result = await execa(process.execPath, [CLI, "bsdp", ...args, "--stack", "kvm", "--project", projectDir, "--json", "--timeout-ms", "3000"], {
    reject: false,
  });
  return { exitCode: result.exitCode ?? -1, answer: result.stdout ? (JSON.parse(result.stdout) as BsdpAnswer) : undefined, stderr: result.stderr };
}

/** The same from a network namespace on the lab bridge, with the CLI's own --interface mode. */
async function bsdpFromNamespace(client: TestHost, args: string[]): Promise<{ exitCode: number; answer?: BsdpAnswer; stderr: string }> {
  await routeBroadcastsThroughEth0(client);
  const result = await client.run(process.execPath, [CLI, "bsdp", ...args, "--interface", client.interfaceName, "--json", "--timeout-ms", "3000"], {
    reject: false,
  });
  return {
    exitCode: result.exitCode ?? -1,
    answer: result.stdout ? (JSON.parse(String(result.stdout)) as BsdpAnswer) : undefined,
    stderr: String(result.stderr),
  };
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

beforeAll(async () => {
  const { resources } = await runStack("kvm", { configOverrides: overrides });
  // The CLI reads the same config from a stack file, as it does in a user's project.
  mkdirSync(join(projectDir, "stacks"));
  writeFileSync(stackFilePath(projectDir, "kvm"), dump({ config: mergeConfig(readStackConfigMap(stackFilePath(PROJECT_DIR, "kvm")), overrides) }));
  // Only the Linux payload build is left out: its files are not what this test fetches.
  lab = await applyToDocker(
    resources.filter((resource) => resource.name !== "nbl-kvm-linux-build"),
    { labels, imageBuildArgs: { BASE_IMAGE } },
  );
  await responderReady();
}, 900_000);

/** The responder logs one line once both its sockets are bound. */
async function responderReady(): Promise<void> {
  let logs = "";
  for (let attempt = 0; attempt < 40; attempt++) {
    logs = (await execa("docker", ["logs", `${prefix}-bsdp`], { all: true, reject: false })).all ?? "";
    if (/answering BSDP on /.test(logs)) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 250));
  }
  throw new Error(`the BSDP responder did not start:\n${logs}`);
}

afterAll(async () => {
  for (const created of hosts) await created.destroy();
  await lab?.teardown();
  rmSync(projectDir, { recursive: true, force: true });
  media.cleanup();
});

describe("LIST", () => {
  it("from port 68: every image the Mac may boot, the stack's default image and priority", async () => {
    const { exitCode, answer, stderr } = await bsdpFromLab(["list", "--mac", MAC_GUEST]);
    expect(exitCode, stderr).toBe(0);
    expect(answer).toMatchObject({
      messageType: "LIST",
      receivedFrom: server,
      receivedOnPort: 68,
      serverIdentifier: server,
      serverPriority: 40000,
      defaultImage: LION,
      images: [
        { id: SNOW, name: "Snow", install: true, kind: 1, index: 0x101 },
        { id: LION, name: "Lion NetBoot", install: false, kind: 1, index: 0x102 },
      ],
    });
  });

  it("from a namespace on the bridge asking for the reply on port 892, as the Startup Disk pane does", async () => {
    const { exitCode, answer, stderr } = await bsdpFromNamespace(await host({ address: `${net}.60/24` }), ["list", "--reply-port", "892"]);
    expect(exitCode, stderr).toBe(0);
    expect(answer).toMatchObject({ messageType: "LIST", receivedOnPort: 892, defaultImage: LION });
  });

  it("with a model identifier the HTTP image does not enable: that image is not listed", async () => {
    const { answer } = await bsdpFromLab(["list", "--model", "iMac7,1"]);
    expect(answer?.images.map((image) => image.id)).toEqual([SNOW]);
    // Its default gives way to the first image this Mac may boot.
    expect(answer?.defaultImage).toBe(SNOW);
  });

  it("hides the NFS image from the MAC it disables", async () => {
    const { answer } = await bsdpFromLab(["list", "--mac", MAC_HIDDEN]);
    expect(answer?.images.map((image) => image.id)).toEqual([LION]);
    const select = await bsdpFromLab(["select", "snow", "--mac", MAC_HIDDEN]);
    expect(select.exitCode).toBe(4);
    expect(select.answer?.messageType).toBe("FAILED");
  });
});

describe("SELECT", () => {
  let guest: TestHost;
  beforeAll(async () => {
    guest = await host({ mac: MAC_GUEST, address: `${net}.40/24` });
  });

  it("of the NFS image: booter, TFTP server, nfs: root path and the client's name; the booter then comes over TFTP", async () => {
    const { exitCode, answer, stderr } = await bsdpFromNamespace(guest, ["select", SNOW]);
    expect(exitCode, stderr).toBe(0);
    expect(answer).toMatchObject({
      messageType: "SELECT",
      selectedImage: SNOW,
      booter: "snow/Snow.nbi/i386/booter",
      tftpServer: server,
      rootPath: `nfs:${server}:/netboot:snow/Snow.nbi/NetInstall.dmg`,
      machineName: "guest",
    });
    const booter = await guest.run("curl", ["-sS", `tftp://${answer!.tftpServer}/${answer!.booter}`], { encoding: "buffer" });
    expect(sha256(booter.stdout as Uint8Array)).toBe(sha256(readFileSync(media.booter)));
  });

  it("of the HTTP image: its http:// root path, whose image the HTTP server serves", async () => {
    const { answer } = await bsdpFromLab(["select", "lion"]);
    expect(answer).toMatchObject({
      messageType: "SELECT",
      selectedImage: LION,
      booter: "lion/Lion.nbi/i386/booter",
      rootPath: `http://${server}/lion/Lion.nbi/NetInstall.dmg`,
    });
    const root = await guest.run("curl", ["-sSf", answer!.rootPath!], { encoding: "buffer" });
    expect(sha256(root.stdout as Uint8Array)).toBe(sha256(readFileSync(media.rootImage)));
  });

  it("is remembered: a later LIST names the selected image, also after the responder restarts", async () => {
    await bsdpFromNamespace(guest, ["select", SNOW]);
    expect((await bsdpFromNamespace(guest, ["list"])).answer?.selectedImage).toBe(SNOW);
    await execa("docker", ["restart", "--time", "5", `${prefix}-bsdp`]);
    await responderReady();
    expect((await bsdpFromNamespace(guest, ["list"])).answer?.selectedImage).toBe(SNOW);
  });

  it("of an unknown image gets FAILED", async () => {
    const { exitCode, answer } = await bsdpFromLab(["select", "0x81000999"]);
    expect(exitCode).toBe(4);
    expect(answer).toMatchObject({ messageType: "FAILED", booter: null, rootPath: null });
  });

  it("naming another server gets no answer (dhcpd's plain ACK to the INFORM does not count)", async () => {
    const { exitCode, stderr } = await bsdpFromLab(["select", SNOW, "--server", `${net}.99`]);
    expect(exitCode).toBe(3);
    expect(stderr).toContain("no BSDP answer to the INFORM[SELECT]");
  });
});

describe("beside dhcpd", () => {
  const withoutXid = (reply: ProbeReply | undefined) => reply && `${reply.datagram.slice(0, 8)}${reply.datagram.slice(16)}`;

  it("a PXE and a BOOTP client get byte for byte the answers they get without the responder", async () => {
    const client = await host({ mac: PXE_MAC });
    const ask = async () => [await probeDhcp(client, { arch: "efi-x64" }), await probeDhcp(client, { bootp: true })];
    const withResponder = await ask();
    expect(withResponder[0]).toMatchObject({ messageType: "DHCPOFFER", yiaddr: `${net}.10`, file: "linux/ipxe.efi" });
    expect(withResponder[1]).toMatchObject({ messageType: "BOOTREPLY", yiaddr: `${net}.10` });
    await execa("docker", ["stop", "--time", "5", `${prefix}-bsdp`]);
    try {
      const without = await ask();
      // Each request picks its own transaction id: compare everything else.
      expect(withResponder.map(withoutXid)).toEqual(without.map(withoutXid));
    } finally {
      await execa("docker", ["start", `${prefix}-bsdp`]);
      await responderReady();
    }
  });

  it("keeps answering after dhcpd restarts and binds port 67 after the responder", async () => {
    await execa("docker", ["restart", "--time", "5", `${prefix}-dhcpd`]);
    const { exitCode, answer } = await bsdpFromLab(["list"]);
    expect(exitCode).toBe(0);
    expect(answer?.images).toHaveLength(2);
    expect(await probeDhcp(await host({ mac: PXE_MAC }), { arch: "efi-x64", timeoutMs: 10_000 })).toMatchObject({ yiaddr: `${net}.10` });
  });

  it("the responder runs from the CLI image with only NET_BIND_SERVICE, restarts with the lab, and logs what it answered", async () => {
    const [state] = JSON.parse((await execa("docker", ["inspect", `${prefix}-bsdp`])).stdout);
    expect(state.HostConfig.Privileged).toBe(false);
    expect(state.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(state.HostConfig.CapAdd).toEqual(["CAP_NET_BIND_SERVICE"]);
    const [pod] = JSON.parse((await execa("docker", ["inspect", `${prefix}-pod`])).stdout);
    expect(state.HostConfig.NetworkMode).toBe(`container:${pod.Id}`);
    expect(state.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
    expect(state.Config.Image).toMatch(/^netboot-lab\/runtime:/);
    const { stdout } = await execa("docker", ["logs", `${prefix}-bsdp`]);
    expect(stdout).toContain(`answering BSDP on ${server}:67 for 2 image(s)`);
    expect(stdout).toMatch(/SELECT for server 10\.218\.\d+\.99, not this one/);
  });
});

describe("teardown", () => {
  it("leaves no container behind, stand-in Macs included", async () => {
    for (const created of hosts.splice(0)) await created.destroy();
    await lab?.teardown();
    expect(await dockerObjectsOf(labels)).toEqual([]);
    expect((await execa("docker", ["ps", "-a", "--filter", `label=io.netboot-lab.lab=${prefix}`, "-q"])).stdout).toBe("");
  });
});
