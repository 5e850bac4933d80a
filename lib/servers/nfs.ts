/**
 * nfs-ganesha serving the boot tree read-only to the lab subnet over NFSv3 and NFSv4, with
 * rpcbind beside it in the same container: NFSv3 clients (Mac OS X 10.5/10.6, NetBSD 5) find
 * mountd and nfsd through the portmapper on port 111, and ganesha registers with rpcbind over
 * its unix socket, so both must share /run.
 */
import type { ServerContainerSpec } from "./spec";
import { BOOT_TREE_DIR } from "./tftp";

const CONFIG_DIR = "/etc/netboot-lab/nfs";
export const GANESHA_CONF_PATH = `${CONFIG_DIR}/ganesha.conf`;
export const NFS_START_SCRIPT_PATH = `${CONFIG_DIR}/start.sh`;

export interface NfsServerInput {
  /** NFSv3 mount path and NFSv4 pseudo path, e.g. /netboot. */
  readonly exportPath: string;
  /** The only clients allowed to mount, in CIDR form. */
  readonly clientSubnet: string;
  /** The lab address rpcbind answers UDP portmap queries from. */
  readonly serverAddress: string;
}

export function renderGaneshaConf(input: Pick<NfsServerInput, "exportPath" | "clientSubnet">): string {
  return [
    "# Rendered by netboot-lab from the stack config; edit the stack file, not this one.",
    "NFS_CORE_PARAM {",
    "  Protocols = 3, 4;",
    "  # NFSv3 clients mount the same path NFSv4 clients see, not the container's /srv/netboot.",
    "  Mount_Path_Pseudo = true;",
    "  # A read-only tree needs no lock manager (it would also need rpc.statd) and no quotas.",
    "  Enable_NLM = false;",
    "  Enable_RQUOTA = false;",
    "}",
    "NFS_KRB5 {",
    "  # AUTH_SYS only: no keytab exists.",
    "  Active_krb5 = false;",
    "}",
    "NFSV4 {",
    "  # The grace period after a start protects lock and open state clients reclaim; with no",
    "  # writes and no locks it would only refuse NFSv4 opens for 90 s after every restart.",
    "  Graceless = true;",
    "  # uids and gids go out as numbers: the container has no idmapd domain or users to map names.",
    "  Only_Numeric_Owners = true;",
    "}",
    "LOG {",
    "  # One line per RPC with the client's address (\"Request from … for Program 100005, Version 3,",
    "  # Function 1\" is an NFSv3 MOUNT): what `netboot-lab watch` shows as a client's NFS mounts.",
    "  Default_Log_Level = EVENT;",
    "  Components {",
    "    DISPATCH = DEBUG;",
    "  }",
    "}",
    "EXPORT {",
    "  Export_Id = 1;",
    `  Path = ${BOOT_TREE_DIR};`,
    `  Pseudo = ${input.exportPath};`,
    "  Protocols = 3, 4;",
    "  SecType = sys;",
    "  # Diskless guests mount their root from here and must read root-only files (master.passwd,",
    "  # ssh host keys) as root; the export is read-only and limited to the lab subnet.",
    "  Squash = no_root_squash;",
    "  # Nobody gets in unless a CLIENT block below lets them.",
    "  Access_Type = None;",
    "  FSAL {",
    "    Name = VFS;",
    "  }",
    "  CLIENT {",
    `    Clients = ${input.clientSubnet};`,
    "    Access_Type = RO;",
    "  }",
    "}",
    "",
  ].join("\n");
}

export function renderNfsStartScript(serverAddress: string): string {
  return [
    "#!/bin/sh",
    "# Rendered by netboot-lab. rpcbind must answer on port 111 before ganesha starts: ganesha",
    "# registers its NFSv3 and MOUNT programs with it, and NFSv3 clients ask it for their ports.",
    "set -e",
    "# rpcbind forks only after binding its sockets, so ganesha cannot register too early.",
    "# -h answers UDP queries from the lab address (and loopback) only.",
    `rpcbind -h ${serverAddress}`,
    "# rpcbind reports its failures to syslog, which no container has: check it from outside.",
    `if ! rpcinfo -p ${serverAddress} >/dev/null; then`,
    `  echo "netboot-lab: rpcbind does not answer on ${serverAddress} port 111, so NFSv3 clients could not mount; see the error above" >&2`,
    "  exit 1",
    "fi",
    `exec ganesha.nfsd -F -L STDERR -p /run/ganesha.pid -f ${GANESHA_CONF_PATH}`,
    "",
  ].join("\n");
}

export function nfsServer(input: NfsServerInput): ServerContainerSpec {
  return {
    role: "nfs",
    entrypoint: [NFS_START_SCRIPT_PATH],
    command: [],
    files: [
      { path: GANESHA_CONF_PATH, content: renderGaneshaConf(input) },
      { path: NFS_START_SCRIPT_PATH, content: renderNfsStartScript(input.serverAddress), executable: true },
    ],
    capabilities: ["CAP_DAC_READ_SEARCH", "CAP_SETUID", "CAP_SETGID", "CAP_NET_BIND_SERVICE"],
    securityOpts: ["seccomp=unconfined"],
    tmpfs: { "/run": "rw,nosuid,nodev,noexec,mode=0755" },
    mounts: [{ volume: "bootTree", target: BOOT_TREE_DIR, readOnly: true }],
    why: [
      "DAC_READ_SEARCH: ganesha's VFS backend opens every file by handle (open_by_handle_at), which the kernel allows only with it.",
      "SETUID/SETGID: rpcbind switches to the _rpc user at start and exits silently without them.",
      "NET_BIND_SERVICE: rpcbind's port 111 on engines that keep ports below 1024 privileged inside containers (before Docker 20.10).",
      "seccomp=unconfined: Docker engines before moby#45766 (June 2023; Debian 12's docker.io 20.10 among them) allow name_to_handle_at only with CAP_SYS_ADMIN, and ganesha needs it to turn the export path into a handle; newer engines allow it by default.",
      "tmpfs /run: rpcbind's socket and lock and ganesha's pid file start clean on every start.",
    ].join(" "),
  };
}
