/**
 * ISC Kea (kea-dhcp4 2.2, Debian bookworm) for the lab, rendered from the same model as
 * dhcpd.conf and answering clients as dhcpd does (test/integration/dhcp-equivalence.test.ts
 * measures it). The traps of moving a netboot dhcpd.conf to Kea, and what the config does:
 *  1. Kea finds a client's lease by client-id before its MAC -> `match-client-id: false`,
 *     reservations by `hw-address` only.
 *  2. no `dynamic-bootp` ranges -> Debian's BOOTP hook library turns BOOTP requests into DHCP ones.
 *  3. options are sent only when requested -> root-path carries `always-send`.
 *  4. a reservation's boot-file-name beats a class's -> boot files live in classes only.
 *  5. vendor classes are expressions, not `if` blocks -> one class per image and requester,
 *     each excluding the requesters before it (boot-selection.ts's order), so exactly one
 *     class of a client names its file whatever order Kea applies them in.
 * Plain JSON: Kea reads comments but other tools do not; explanations go in `comment`.
 */
import type { ClientModel, LabModel } from "../model/validate";
import { bootSelection, type RequesterMatch } from "./boot-selection";
import { DHCPD_LEASES_DIR } from "./dhcpd";
import type { ServerContainerSpec } from "./spec";

export const KEA_CONF_PATH = "/etc/netboot-lab/kea/kea-dhcp4.conf";
/** memfile's CSV on the leases volume, beside dhcpd's leases, so a replaced container keeps them. */
export const KEA_LEASES_PATH = `${DHCPD_LEASES_DIR}/kea-leases4.csv`;
/** Debian's build of the BOOTP hook (kea-dhcp4-server); the server image is linux/amd64. */
export const KEA_BOOTP_HOOK = "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_bootp.so";
/** A tmpfs: a PID file left by the container's previous run makes kea-dhcp4 refuse to start. */
const KEA_RUN_DIR = "/run/kea";

export interface KeaPaths {
  /** The memfile lease file. */
  readonly leases: string;
  readonly bootpHook: string;
  /** Interface to answer on; default the lab's listen interface. */
  readonly interfaceName?: string;
}

const DEFAULT_PATHS: KeaPaths = { leases: KEA_LEASES_PATH, bootpHook: KEA_BOOTP_HOOK };

/** Kea's string constants are single-quoted, without escapes: refuse what cannot be said rather than render a broken test. */
function keaString(text: string): string {
  if (/['\\]/.test(text)) throw new Error(`Kea expression strings cannot carry ' or \\: ${JSON.stringify(text)}`);
  return `'${text}'`;
}

/** A match of boot-selection.ts as a Kea test expression. */
function keaTest(match: RequesterMatch): string {
  switch (match.kind) {
    case "user-class":
      // Option 77 is binary in Kea, and iPXE does not frame its value as RFC 3004 asks.
      return `option[77].hex == ${keaString(match.value)}`;
    case "vendor-class-prefix":
      return `substring(option[60].hex, 0, ${match.prefix.length}) == ${keaString(match.prefix)}`;
    case "client-arch": {
      const tests = match.codes.map((code) => `option[93].hex == 0x${code.toString(16).padStart(4, "0")}`);
      return tests.length > 1 ? `(${tests.join(" or ")})` : tests[0]!;
    }
  }
}

const nonEmpty = <T>(key: string, list: readonly T[]) => (list.length ? { [key]: list } : {});

const macConstant = (mac: string) => `0x${mac.replace(/:/g, "")}`;

interface KeaClientClass {
  readonly name: string;
  /** Absent: only set from outside the config (a hook). */
  readonly test?: string;
  readonly comment?: string;
  readonly "boot-file-name"?: string;
  readonly "option-data"?: readonly Record<string, unknown>[];
}

/**
 * The classes of one boot image: `image-<name>` holds its clients (by MAC, as dhcpd's group
 * holds its hosts) and its root-path; `image-<name>-<requester>` names the file of each requester.
 */
function imageClasses(lab: LabModel, image: string, clients: readonly ClientModel[]): KeaClientClass[] {
  const fileSet = lab.bootFileSets[image];
  if (!fileSet) throw new Error(`no boot files for image ${image}`);
  const member = `image-${image}`;
  const { branches, fallback } = bootSelection(fileSet.files);
  const earlier: string[] = [];
  const fileClasses = branches.map(({ requester, match, file }): KeaClientClass => {
    const name = `${member}-${requester}`;
    const test = [`member('${member}')`, keaTest(match), ...earlier.map((other) => `not member('${other}')`)].join(" and ");
    earlier.push(name);
    return { name, test, "boot-file-name": file };
  });
  return [
    {
      name: member,
      comment: `boot image "${image}": ${clients.map((client) => client.name).join(", ")}`,
      test: clients.map((client) => `pkt4.mac == ${macConstant(client.mac)}`).join(" or "),
      ...(fileSet.rootPath
        ? // Firmware and loaders rarely request root-path.
          { "option-data": [{ name: "root-path", data: fileSet.rootPath, "always-send": true }] }
        : {}),
    },
    ...fileClasses,
    ...(fallback
      ? [
          {
            name: `${member}-other`,
            comment: "BIOS PXE ROMs send arch 0; BOOTP loaders send no option 93 at all: both land here.",
            test: [`member('${member}')`, ...earlier.map((other) => `not member('${other}')`)].join(" and "),
            "boot-file-name": fallback,
          },
        ]
      : []),
  ];
}

/**
 * dhcpd ignores a BOOTP request it has no address for. Kea's BOOTP hook makes the request a
 * DHCPREQUEST (option 53 included, so no test can look for its absence) and puts it in class
 * BOOTP; Kea answers the failed allocation with a NAK that goes out as a BOOTREPLY offering
 * 0.0.0.0 (measured on 2.2). DROP is Kea's class for requests not to answer; it is decided
 * before the host lookup, so it names the declared MACs itself.
 */
function dropUnknownBootp(clients: readonly ClientModel[]): KeaClientClass[] {
  const known = clients.map((client) => `pkt4.mac == ${macConstant(client.mac)}`);
  return [
    { name: "BOOTP", comment: "Set by the BOOTP hook on requests without option 53; declared here so tests can name it." },
    {
      name: "DROP",
      comment: "BOOTP requests from MACs the stack does not declare: unanswered, as dhcpd leaves them.",
      test: ["member('BOOTP')", ...(known.length ? [`not (${known.join(" or ")})`] : [])].join(" and "),
    },
  ];
}

export function renderKeaConfig(lab: LabModel, paths: KeaPaths = DEFAULT_PATHS): { Dhcp4: Record<string, unknown> } {
  const net = lab.network;
  const clientsByImage = new Map<string, ClientModel[]>();
  for (const client of lab.clients) clientsByImage.set(client.bootImage, [...(clientsByImage.get(client.bootImage) ?? []), client]);
  const lease = net.leaseTimeSeconds;
  const subnetOptions = [
    { name: "broadcast-address", data: net.broadcastAddress },
    ...(net.router ? [{ name: "routers", data: net.router }] : []),
    ...(net.dnsServers.length ? [{ name: "domain-name-servers", data: net.dnsServers.join(", ") }] : []),
    ...(net.domainName ? [{ name: "domain-name", data: net.domainName }] : []),
  ];
  return {
    Dhcp4: {
      comment: "Rendered by netboot-lab from the stack config; edit the stack file, not this one.",
      "interfaces-config": { interfaces: [paths.interfaceName ?? net.listenInterface], "dhcp-socket-type": "raw" },
      "lease-database": { type: "memfile", persist: true, name: paths.leases },
      "match-client-id": false,
      "host-reservation-identifiers": ["hw-address"],
      authoritative: true,
      "valid-lifetime": lease,
      "min-valid-lifetime": lease,
      "max-valid-lifetime": lease,
      "option-def": [
        { name: "ipxe-encap-opts", code: 175, space: "dhcp4", type: "empty", encapsulate: "ipxe" },
        { name: "no-pxedhcp", code: 176, space: "ipxe", type: "uint8" },
      ],
      "option-data": [
        {
          name: "ipxe-encap-opts",
          comment: "iPXE waits about 3 s per DHCP exchange for ProxyDHCP offers, which this lab never makes; 175.176 (no-pxedhcp) says not to.",
        },
        { name: "no-pxedhcp", space: "ipxe", data: "1" },
      ],
      // Kea 2.2's parser refuses an empty list here and under reservations: a lab without clients has neither.
      ...nonEmpty("client-classes", [
        ...(net.allowUnknownClients ? [] : dropUnknownBootp(lab.clients)),
        ...[...clientsByImage].flatMap(([image, clients]) => imageClasses(lab, image, clients)),
      ]),
      // Kea 2.2 takes no comment here: the BOOTP hook answers requests without option 53, as dhcpd's dynamic-bootp ranges do.
      "hooks-libraries": [{ library: paths.bootpHook }],
      subnet4: [
        {
          id: 1,
          subnet: `${net.networkAddress}/${net.prefixLength}`,
          "next-server": net.serverAddress,
          pools: net.pools.map((pool) => ({
            pool: `${pool.start} - ${pool.end}`,
            ...(net.allowUnknownClients ? {} : { "client-class": "KNOWN", comment: "Only clients the stack declares (dhcpd: deny unknown-clients)." }),
          })),
          "option-data": subnetOptions,
          ...nonEmpty(
            "reservations",
            lab.clients.map((client) => ({ "hw-address": client.mac, ...(client.ipv4 ? { "ip-address": client.ipv4 } : {}), hostname: client.name })),
          ),
        },
      ],
      loggers: [{ name: "kea-dhcp4", output_options: [{ output: "stdout" }], severity: "INFO" }],
    },
  };
}

/**
 * What this lab's dhcpd does that its Kea config cannot, for render's "not on Kea" report and the
 * README. Each item was measured by the equivalence matrix or stands on Kea's documentation.
 */
export function notOnKea(lab: LabModel): string[] {
  const pooled = lab.network.allowUnknownClients || lab.clients.some((client) => !client.ipv4);
  return [
    "BOOTP requests without the RFC 1048 magic cookie (plain RFC 951) get no answer: Kea's BOOTP hook takes RFC 1497 requests only (PXE ROMs, iPXE, GRUB and NetBSD's pxeboot send the cookie).",
    ...(pooled
      ? [
          "A pool client is offered the next free address on each DISCOVER until it sends a REQUEST: Kea 2.2 keeps no offers (dhcpd offers one address again and again).",
          "A BOOTP client's pool address is its own for good: Kea 2.2 allocates BOOTP leases for infinity, where dhcpd ends them after the lab's lease time.",
        ]
      : []),
    ...(lab.bsdp.enabled && lab.bsdp.defaultImageId !== undefined
      ? [
          "Mac BSDP: Kea answers INFORMs on port 68 only, without image lists, and kea-dhcp4 holds UDP port 67 alone, so the lab's BSDP responder cannot run beside it: a lab that answers BSDP stays on dhcpd (servers.dhcp.server kea is refused).",
        ]
      : []),
  ];
}

export function renderKeaConf(lab: LabModel, paths?: KeaPaths): string {
  return `${JSON.stringify(renderKeaConfig(lab, paths), null, 2)}\n`;
}

/** The kea-dhcp4 container: what dhcpd's has, plus a tmpfs for its PID file. */
export function keaServer(lab: LabModel): ServerContainerSpec {
  return {
    role: "kea",
    entrypoint: [
      "/bin/sh",
      "-c",
      `mkdir -p ${KEA_RUN_DIR} && exec env KEA_PIDFILE_DIR=${KEA_RUN_DIR} KEA_LOCKFILE_DIR=${KEA_RUN_DIR} /usr/sbin/kea-dhcp4 "$@"`,
      "kea-dhcp4",
    ],
    command: ["-c", KEA_CONF_PATH],
    files: [{ path: KEA_CONF_PATH, content: renderKeaConf(lab) }],
    capabilities: ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"],
    securityOpts: [],
    tmpfs: { "/run": "rw,nosuid,nodev,noexec,size=1m" },
    mounts: [{ volume: "leases", target: DHCPD_LEASES_DIR, readOnly: false }],
    why: "NET_RAW: kea-dhcp4 answers clients without an address through a raw packet socket; NET_BIND_SERVICE: UDP port 67.",
  };
}
