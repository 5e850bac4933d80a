/** tftpd-hpa serving the boot tree read-only: `--secure` chroots into it, no `--create`, the volume is mounted read-only. */
import type { LabModel } from "../model/validate";
import type { ServerContainerSpec } from "./spec";

export const BOOT_TREE_DIR = "/srv/netboot";

/**
 * tftpd-hpa logs only to syslog, and a container has none: busybox syslogd on the container's
 * own /dev/log copies every line to stdout, where `docker logs` (and `netboot-lab watch`) read it.
 * tftpd connects to /dev/log before it chroots, so the socket must exist first.
 */
export const TFTP_LOG_SINK = 'busybox syslogd -n -S -O - & while [ ! -S /dev/log ]; do sleep 0.1; done; exec /usr/sbin/in.tftpd "$@"';

export function tftpServer(lab: LabModel): ServerContainerSpec {
  return {
    role: "tftp",
    entrypoint: ["/bin/sh", "-c", TFTP_LOG_SINK, "in.tftpd"],
    command: [
      "--foreground",
      // Bind the lab address only: in host-network mode 0.0.0.0 would serve every host interface.
      "--address",
      `${lab.network.serverAddress}:69`,
      "--secure",
      "--user",
      "nobody",
      // blksize (RFC 2348) is granted up to this size; tsize (RFC 2349) is always honoured.
      "--blocksize",
      String(lab.servers.tftp.maxBlockSize),
      // Verbosity 3 logs each read request with the options the client asked for (blksize, tsize).
      "--verbosity",
      "3",
      BOOT_TREE_DIR,
    ],
    files: [],
    capabilities: ["CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_SETUID", "CAP_SETGID"],
    securityOpts: [],
    tmpfs: {},
    mounts: [{ volume: "bootTree", target: BOOT_TREE_DIR, readOnly: true }],
    why: "NET_BIND_SERVICE: UDP port 69; SYS_CHROOT: --secure chroots into the boot tree; SETUID/SETGID: tftpd drops to nobody.",
  };
}
