/**
 * radvd on the lab bridge, there only so that boot firmware stops waiting for an IPv6 router.
 * iPXE configures IPv6 and DHCPv4 side by side and waits about 13 s for a router advertisement
 * on a link where none comes. radvd answers its router solicitation at once with a ULA prefix
 * and a router lifetime of 0: the guests learn they have no IPv6 default route, so the lab
 * still has no way out. Bridge mode only: on a macvlan (a real layer-2 network) the lab must
 * not advertise itself to machines it does not own.
 */
import { createHash } from "node:crypto";
import type { LabModel } from "../model/validate";
import type { ServerContainerSpec } from "./spec";

export const RADVD_CONF_PATH = "/etc/netboot-lab/radvd/radvd.conf";

/** A ULA /64 (RFC 4193) whose global ID is derived from the lab's subnet and bridge: stable per lab, different between labs. */
export function labUlaPrefix(lab: LabModel): string {
  const id = createHash("sha256").update(`${lab.network.subnet}/${lab.network.bridge}`).digest("hex");
  return `fd${id.slice(0, 2)}:${id.slice(2, 6)}:${id.slice(6, 10)}::/64`;
}

export function renderRadvdConf(lab: LabModel): string {
  return [
    "# netboot-lab: answer router solicitations so firmware stops waiting; never a default router.",
    `interface ${lab.network.listenInterface} {`,
    "  AdvSendAdvert on;",
    "  AdvDefaultLifetime 0;",
    // Unsolicited advertisements are not what the wait needs; radvd answers a solicitation at once, by unicast.
    "  MinRtrAdvInterval 30;",
    "  MaxRtrAdvInterval 120;",
    `  prefix ${labUlaPrefix(lab)} {`,
    "    AdvOnLink on;",
    "    AdvAutonomous on;",
    "  };",
    "};",
    "",
  ].join("\n");
}

export function radvdServer(lab: LabModel): ServerContainerSpec {
  return {
    role: "radvd",
    entrypoint: ["/usr/sbin/radvd"],
    // radvd refuses a config it could be tricked into reading (writable by others) and, without
    // IPv6 forwarding, only warns; as a non-router that is what the lab wants.
    command: ["--nodaemon", "--config", RADVD_CONF_PATH, "--logmethod", "stderr", "--pidfile", "/run/radvd/radvd.pid", "--username", "radvd"],
    files: [{ path: RADVD_CONF_PATH, content: renderRadvdConf(lab) }],
    capabilities: ["CAP_NET_RAW", "CAP_SETUID", "CAP_SETGID"],
    securityOpts: [],
    tmpfs: { "/run/radvd": "rw,mode=0755" },
    mounts: [],
    why: "NET_RAW: the ICMPv6 socket router advertisements go out on; SETUID/SETGID: radvd drops to the radvd user.",
  };
}
