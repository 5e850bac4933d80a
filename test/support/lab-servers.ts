/**
 * The kvm stack's servers on the local engine for an integration test: the real index.ts
 * evaluated with the test's own bridge, subnet, name prefix and clients, its NetbootServer
 * children applied to Docker, and files written into the boot-tree volume as a build would.
 */
import { randomBytes, randomInt } from "node:crypto";
import { execa } from "execa";
import { applyToDocker, type AppliedLab } from "./docker-apply";
import { runStack, type DeclaredResource } from "./pulumi-harness";
import { testCaseLabels } from "./test-run";

export interface LabPlacement {
  readonly id: string;
  /** First three octets of the lab's /24, e.g. `10.215.7`. */
  readonly net: string;
  readonly server: string;
  readonly bridge: string;
  /** `netboot-lab:docker.namePrefix`: the lab's containers are `<prefix>-dhcpd`, …, its volumes `<prefix>-boot-tree`, `<prefix>-leases`. */
  readonly prefix: string;
  readonly labels: Record<string, string>;
}

/** Random names and a random /24 under `10.<second>.` for one test file. */
export function labPlacement(caseName: string, second: number): LabPlacement {
  const id = randomBytes(3).toString("hex");
  const net = `10.${second}.${randomInt(0, 256)}`;
  return { id, net, server: `${net}.2`, bridge: `nbtbr${id}`, prefix: `nbt${id}`, labels: testCaseLabels(`${caseName}-${id}`) };
}

/** What a stack's servers need on the engine: the NetbootServer's children and the runtime image its keeper (and BSDP responder) run. */
export function serverResourcesOf(resources: readonly DeclaredResource[], stack: string): DeclaredResource[] {
  return resources.filter((resource) => resource.parent === `nbl-${stack}` || resource.parent === `nbl-${stack}-runtime`);
}

export interface LabServers {
  readonly applied: AppliedLab;
  /** The `netboot-lab:*` overrides the kvm stack was evaluated with (what a `check --config` stack file needs besides the stack's own). */
  readonly configOverrides: Record<string, unknown>;
  /** The server image every daemon runs (it has a shell and tar for volume access). */
  readonly imageName: string;
  /** Runs `script` with `sh -c` in a throwaway container with `volume` at /v, `input` on stdin. */
  inVolume(volume: string, script: string, input?: Buffer): Promise<string>;
}

export async function startLabServers(
  placement: LabPlacement,
  clients: readonly Record<string, unknown>[],
  bootImages: readonly Record<string, unknown>[] = [{ name: "linux", kind: "ipxe", nfsRoot: true }],
  /** Further `netboot-lab:*` keys, e.g. `netboot-lab:servers`. */
  moreConfig: Record<string, unknown> = {},
): Promise<LabServers> {
  const { net, server, bridge, prefix, labels } = placement;
  const configOverrides = {
    "netboot-lab:network": { subnet: `${net}.0/24`, serverAddress: server, bridge, pools: [{ start: `${net}.100`, end: `${net}.120` }] },
    "netboot-lab:docker": { baseImage: process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm", namePrefix: prefix },
    "netboot-lab:bootImages": bootImages,
    "netboot-lab:clients": clients,
    ...moreConfig,
  };
  const { resources } = await runStack("kvm", { configOverrides });
  const serverResources = serverResourcesOf(resources, "kvm");
  const imageName = String(serverResources.find((resource) => resource.name === "nbl-kvm-image")?.inputs.imageName);
  const applied = await applyToDocker(serverResources, { labels });
  const labelArgs = Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]);
  const inVolume = async (volume: string, script: string, input?: Buffer) =>
    String(
      (
        await execa("docker", ["run", "--rm", "-i", ...labelArgs, "--network", "none", "-v", `${volume}:/v`, "--entrypoint", "sh", imageName, "-c", script], {
          input,
        })
      ).stdout,
    ).trim();
  return { applied, configOverrides, imageName, inVolume };
}
