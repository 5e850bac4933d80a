/**
 * The fusion stack's server side for real: the lab's containers on a macvlan network whose
 * parent stands in for the Linux host's interface on the guests' layer-2 network (here a bridge
 * the test creates, with a client namespace on it standing in for a bridged VMware guest).
 */
import { randomBytes, randomInt } from "node:crypto";
import { resolve } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeDhcp, routeBroadcastsThroughEth0 } from "../support/dhcp-clients";
import { applyToDocker, type AppliedLab } from "../support/docker-apply";
import { fusionMedia } from "../support/fake-media";
import { serverResourcesOf } from "../support/lab-servers";
import { createTestHost, type TestHost } from "../support/netns";
import { runStack } from "../support/pulumi-harness";
import { testCaseLabels } from "../support/test-run";

const id = randomBytes(3).toString("hex");
const net = `10.216.${randomInt(0, 256)}`;
const server = `${net}.28`;
const segment = `nbtbr${id}`;
const MAC_GUEST = "00:50:56:00:00:28";
const labels = testCaseLabels(`fusion-${id}`);
const media = fusionMedia();
const CLI = resolve(__dirname, "..", "..", "bin", "netboot-lab.cjs");

let lab: AppliedLab | undefined;
const hosts: TestHost[] = [];

beforeAll(async () => {
  await execa("ip", ["link", "add", segment, "type", "bridge"]);
  await execa("ip", ["link", "set", segment, "up"]);
  const { resources } = await runStack("fusion", {
    configOverrides: {
      "netboot-lab:mediaDir": media.dir,
      "netboot-lab:network": { subnet: `${net}.0/24`, serverAddress: server, gateway: `${net}.1`, parentInterface: segment },
      // The stack's remote Docker host becomes the local engine; everything else stays as written.
      "netboot-lab:docker": { host: undefined, baseImage: process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm", namePrefix: `nbt${id}` },
      "netboot-lab:clients": [
        {
          name: "snowleopard-server",
          platform: "fusion",
          mac: MAC_GUEST,
          ipv4: `${net}.40`,
          firmware: "efi-x64",
          nic: "vmware-e1000",
          bootImage: "snow-leopard",
        },
      ],
    },
  });
  // The server's containers, and the runtime image its BSDP responder runs from.
  lab = await applyToDocker(serverResourcesOf(resources, "fusion"), { labels, macvlanParents: [segment] });
}, 600_000);

afterAll(async () => {
  for (const host of hosts) await host.destroy();
  await lab?.teardown();
  await execa("ip", ["link", "del", segment], { reject: false });
  media.cleanup();
});

describe("fusion: servers on a macvlan of the guests' network", () => {
  it("answers a bridged EFI Mac guest with the booter and the nfs: root path, though it never asked for root-path", async () => {
    const guest = await createTestHost({ bridge: segment, mac: MAC_GUEST });
    hosts.push(guest);
    const reply = await probeDhcp(guest, { arch: "efi-bc", requestOptions: [1, 3, 67] });
    expect(reply).toMatchObject({ yiaddr: `${net}.40`, siaddr: server, file: "snow-leopard/NetBootSP0.nbi/i386/booter" });
    expect(reply?.options).toMatchObject({ "root-path": `nfs:${server}:/netboot:snow-leopard/NetBootSP0.nbi/NetInstall.dmg` });
  });

  it("answers the guest's BSDP LIST with the NetBoot image, on the macvlan too", async () => {
    const guest = await createTestHost({ bridge: segment, mac: MAC_GUEST, address: `${net}.40/24` });
    hosts.push(guest);
    await routeBroadcastsThroughEth0(guest);
    let result = await guest.run(process.execPath, [CLI, "bsdp", "list", "--interface", "eth0", "--json"], { reject: false });
    // The responder may still be binding its sockets right after the containers start.
    for (let attempt = 0; attempt < 5 && result.exitCode === 3; attempt++)
      result = await guest.run(process.execPath, [CLI, "bsdp", "list", "--interface", "eth0", "--json"], { reject: false });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(JSON.parse(String(result.stdout))).toMatchObject({
      messageType: "LIST",
      serverIdentifier: server,
      images: [{ name: "Mac OS X 10.6 Server NetInstall", install: true }],
    });
  });

  it("serves TFTP and NFSv3 on that network", async () => {
    const guest = await createTestHost({ bridge: segment, address: `${net}.50/24` });
    hosts.push(guest);
    // The boot tree is empty here (no image was built): an answer at all shows the server is reachable.
    const tftp = await guest.run("tftp", [server, "-c", "get", "does-not-exist", "/dev/null"], { reject: false, all: true });
    expect(tftp.all).toContain("Error code 1: File not found");
    const nfs = await guest.run("nfs-ls", [`nfs://${server}/netboot/?version=3`], { reject: false, all: true });
    expect(nfs.exitCode, String(nfs.all)).toBe(0);
  });
});
