/**
 * Where `netboot-lab bsdp list|select --stack NAME` puts its stand-in Mac: a short-lived
 * container on the lab's own Docker network, from the image the lab's responder runs (it
 * carries the CLI), with an address no lab client, pool or server uses. Nothing is sent from
 * the host's own interfaces.
 */
import { LAB_LABEL, ROLE_LABEL } from "../lab-names";

export interface ProbeContainer {
  /** Docker network of the lab (the NetbootServer names it after the prefix). */
  readonly network: string;
  readonly image: string;
  readonly address: string;
  /** The lab's Docker name prefix, for the container's labels. */
  readonly prefix: string;
  /** `bsdp list|select …` arguments for the CLI inside. */
  readonly cliArgs: readonly string[];
}

/**
 * `docker run` arguments: removed on exit, every capability dropped but the one that binds a
 * reply port below 1024. The container keeps the MAC Docker gives it (derived from its address):
 * `--mac` only sets chaddr, which is what the server filters on, and a MAC per network needs
 * Docker API 1.44, which older engines lack.
 */
export function probeDockerRunArgs(probe: ProbeContainer): string[] {
  return [
    "run",
    "--rm",
    "--network",
    probe.network,
    "--ip",
    probe.address,
    "--cap-drop",
    "ALL",
    "--cap-add",
    "NET_BIND_SERVICE",
    "--label",
    `${LAB_LABEL}=${probe.prefix}`,
    "--label",
    `${ROLE_LABEL}=bsdp-probe`,
    probe.image,
    ...probe.cliArgs,
  ];
}
