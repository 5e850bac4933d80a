/** `netboot-lab bsdp` as users run it, where no lab is needed: help, usage errors, and where its stand-in Mac goes. */
import { resolve } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { labDockerNames } from "../../lib/lab-names";
import { probeAddress } from "../../lib/model";
import { validateLab } from "../../lib/model";
import { PROBE_FOLDER, probeContainerOptions } from "../../cli/lab-docker";

const CLI = resolve(__dirname, "..", "..", "bin", "netboot-lab.cjs");
const bsdp = (...args: string[]) => execa(process.execPath, [CLI, "bsdp", ...args], { reject: false });

describe("netboot-lab bsdp", () => {
  it("answers --help with its subcommands and options, and is listed by netboot-lab --help", async () => {
    const help = await bsdp("--help");
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("netboot-lab bsdp select IMAGE [options]");
    expect(help.stdout).toContain("--reply-port N");
    expect((await execa(process.execPath, [CLI, "--help"])).stdout).toContain("bsdp list|select IMAGE");
  });

  it("says what is wrong with its arguments (exit 2)", async () => {
    const cases: [string[], string][] = [
      [["list"], "say where the stand-in Mac runs: --stack NAME"],
      [["select", "--interface", "eth0"], "select needs the IMAGE to select"],
      [["list", "--stack", "kvm", "--interface", "eth0"], "--stack and --interface name two places"],
      [["list", "--interface", "eth0", "--model", "a/b"], '--model "a/b" is not a Mac model identifier'],
      [["list", "--interface", "eth0", "--filter", "81000"], '--filter "81000" must be 16-bit attributes in hex'],
      [["select", "snow", "--interface", "eth0"], 'IMAGE "snow" is not an image ID such as 0x81000abc (image names need --stack)'],
      [["boot"], 'say what to do: bsdp list, bsdp select IMAGE or bsdp serve (got "boot")'],
    ];
    for (const [args, message] of cases) {
      const result = await bsdp(...args);
      expect(result.exitCode, args.join(" ")).toBe(2);
      expect(result.stderr).toContain(message);
    }
  });

  it("refuses a stack that answers no BSDP, naming why", async () => {
    const result = await bsdp("list", "--stack", "kvm", "--project", resolve(__dirname, "..", ".."));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("stack kvm does not answer BSDP (it has no darwin-nbi boot image)");
  });
});

describe("the stand-in Mac's container", () => {
  const lab = validateLab({
    network: { subnet: "10.0.0.0/24", serverAddress: "10.0.0.28", pools: [{ start: "10.0.0.200", end: "10.0.0.254" }] },
    bootImages: [{ name: "linux", kind: "ipxe" }],
    clients: [{ name: "vm", mac: "52:54:00:00:00:01", ipv4: "10.0.0.199", bootImage: "linux" }],
  });

  it("takes the highest lab address outside the pools that no client, server or gateway uses", () => {
    expect(probeAddress(lab)).toBe("10.0.0.198");
  });

  it("runs this machine's CLI on the lab network at its address, with every capability dropped but NET_BIND_SERVICE and the lab's labels", () => {
    const probe = {
      role: "bsdp-probe",
      image: "netboot-lab/runtime:abc",
      address: "10.0.0.198",
      capabilities: ["NET_BIND_SERVICE"],
      cliArgs: ["bsdp", "list"],
    };
    expect(probeContainerOptions(labDockerNames("nbl-fusion"), probe, "1a2b3c")).toEqual({
      name: "nbl-fusion-bsdp-probe-1a2b3c",
      Image: "netboot-lab/runtime:abc",
      Entrypoint: ["node", `${PROBE_FOLDER}/netboot-lab.cjs`],
      Cmd: ["bsdp", "list"],
      Labels: { "io.netboot-lab.lab": "nbl-fusion", "io.netboot-lab.role": "bsdp-probe" },
      HostConfig: { NetworkMode: "nbl-fusion", CapDrop: ["ALL"], CapAdd: ["NET_BIND_SERVICE"] },
      NetworkingConfig: { EndpointsConfig: { "nbl-fusion": { IPAMConfig: { IPv4Address: "10.0.0.198" } } } },
    });
  });
});
