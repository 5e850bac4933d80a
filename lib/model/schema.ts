/**
 * The shape of a lab as written in stack config (`stacks/Pulumi.<stack>.yaml`, keys under `netboot-lab:`).
 * Structure and defaults live here; rules that relate fields to each other live in validate.ts.
 */
import { z } from "zod";
import { NETBOOT_IMAGE_KINDS, type NetbootImageKind } from "../bsdp/image-id";

const name = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, "must start with a letter and use only a-z, 0-9 and '-' (at most 31 characters)");

export const FIRMWARES = ["bios", "efi-x64", "efi-ia32", "efi-arm64"] as const;
export type Firmware = (typeof FIRMWARES)[number];

/** How the firmware fetches its loader: `pxe` (DHCP + TFTP) or `http` (UEFI HTTP Boot: a URL in DHCP, no TFTP at all). */
export const NETBOOT_PROTOCOLS = ["pxe", "http"] as const;
export type NetbootProtocol = (typeof NETBOOT_PROTOCOLS)[number];

/** CPU architecture of a Linux boot image's kernel, initramfs and EFI loader. */
export const LINUX_ARCHES = ["x86_64", "arm64"] as const;
export type LinuxArch = (typeof LINUX_ARCHES)[number];

export const PLATFORMS = ["qemu", "fusion"] as const;
export type Platform = (typeof PLATFORMS)[number];

/** NIC models a client can emulate; the PCI IDs behind them live in lib/hardware/nics.ts. */
export const NIC_MODELS = [
  "qemu-e1000",
  "qemu-e1000e",
  "qemu-rtl8139",
  "qemu-virtio",
  "qemu-pcnet",
  "qemu-vmxnet3",
  "vmware-e1000",
  "vmware-e1000e",
  "vmware-vlance",
  "vmware-vmxnet3",
] as const;
export type NicModel = (typeof NIC_MODELS)[number];

const pool = z.strictObject({
  /** First address of the dynamic pool. */
  start: z.string(),
  /** Last address of the dynamic pool (inclusive). */
  end: z.string(),
});

export const networkSchema = z.strictObject({
  subnet: z.string(),
  serverAddress: z.string().optional(),
  /**
   * `bridge`: an isolated Docker bridge that QEMU taps join (kvm). `macvlan`: the servers get
   * their own MAC on a host interface the user names, the network VMware guests are bridged
   * to (fusion). Host networking is deliberately not offered: ganesha and rpcbind would listen
   * on every host interface.
   */
  mode: z.enum(["bridge", "macvlan"]).default("bridge"),
  bridge: z
    .string()
    .regex(/^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/, "must be a Linux interface name: a letter, then letters, digits, '_', '.' or '-', at most 15 characters")
    .default("nblab0"),
  gateway: z.string().optional(),
  parentInterface: z.string().optional(),
  router: z.string().optional(),
  dnsServers: z.array(z.string()).default([]),
  domainName: z.string().optional(),
  pools: z.array(pool).optional(),
  allowUnknownClients: z.boolean().default(false),
  leaseTimeSeconds: z.number().int().min(60).max(604800).default(3600),
});

export const dockerSchema = z.strictObject({
  host: z
    .string()
    .regex(/^(unix|ssh|tcp):\/\/\S+$/, "must be a Docker host URL: unix:///var/run/docker.sock, ssh://user@host or tcp://host:2376")
    .optional(),
  baseImage: z.string().min(1).default("debian:bookworm-slim"),
  /**
   * Runs the lab's keeper container (lib/servers/keeper.ts), which starts the daemons that the
   * engine left exited after it restarted. Default true.
   */
  keeper: z.boolean().default(true),
  /** The engine's API socket on the Docker host, which the keeper mounts. Default /var/run/docker.sock; rootless Docker: /run/user/<uid>/docker.sock. */
  socket: z
    .string()
    .regex(/^\/\S*$/, "must be the absolute path of the Docker engine's socket on the Docker host, e.g. /var/run/docker.sock")
    .default("/var/run/docker.sock"),
  /** Prefix of the lab's container, network and volume names on the Docker host (default `nbl-<stack>`). */
  namePrefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]{0,39}$/, "must be a Docker name prefix: lower-case letters, digits, '_', '.' or '-', at most 40 characters")
    .optional(),
});

/** `servers.dhcp.mode`: `authoritative` (the lab's dhcpd hands out every address) or `proxy` (the site's server does; the lab answers only PXE, lib/proxy-dhcp). */
export const DHCP_MODES = ["authoritative", "proxy"] as const;
export type DhcpMode = (typeof DHCP_MODES)[number];

export const serversSchema = z.strictObject({
  /**
   * `server`: `isc`: ISC dhcpd 4.4 (end of life since 2022); `kea`: ISC Kea, its successor, rendered from the same model (lib/servers/kea.ts).
   * `mode`: `authoritative` (the lab hands out every address) or `proxy` (the site's server does; the lab answers only PXE, lib/proxy-dhcp).
   */
  dhcp: z.strictObject({ server: z.enum(["isc", "kea"]).default("isc"), mode: z.enum(DHCP_MODES).default("authoritative") }).prefault({}),
  tftp: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Largest blksize tftpd grants; UEFI firmwares and old Macs fail above the link MTU. */
      maxBlockSize: z.number().int().min(512).max(65464).default(1468),
    })
    .prefault({}),
  nfs: z
    .strictObject({
      enabled: z.boolean().default(true),
      exportPath: z
        .string()
        .regex(/^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/, "must be an absolute path such as /netboot")
        .default("/netboot"),
    })
    .prefault({}),
  http: z
    .strictObject({
      enabled: z.boolean().default(true),
      port: z.number().int().min(1).max(65535).default(80),
    })
    .prefault({}),
});

/** A Linux kernel and initrd; by default Debian's kernel and a busybox initramfs made by the builder. */
const linuxPayload = z.strictObject({
  kernel: z.string().optional(),
  initrd: z.string().optional(),
  // The kernel's informational lines (about 350 of them) cost seconds on an emulated serial port;
  // loglevel=6 still prints its banner, warnings and errors, and the lab's own lines come from /init.
  // cryptomgr.notests skips the crypto self-tests run at every start (0.4 s of emulated CPU):
  // a lab guest checks its boot, not its kernel's ciphers.
  cmdline: z.string().default("console=ttyS0 loglevel=6 cryptomgr.notests"),
});

const linuxLoaderImage = <K extends "ipxe" | "grub" | "pxelinux" | "signed-grub">(kind: K) =>
  z.strictObject({
    name,
    kind: z.literal(kind),
    linux: linuxPayload.prefault({}),
    /** arm64: an arm64 kernel, busybox and GRUB for efi-arm64 clients (QEMU's virt machine: console=ttyAMA0). */
    arch: z.enum(LINUX_ARCHES).default("x86_64"),
    /** Mount the boot image's `root/` folder over NFS as the guest's root (sends root-path). */
    nfsRoot: z.boolean().default(false),
  });

const mkextOptions = z.strictObject({
  format: z.union([z.literal(1), z.literal(2)]).default(2),
  arch: z.enum(["i386", "x86_64"]).default("i386"),
  localRoot: z.boolean().default(false),
  networkRoot: z.boolean().default(true),
  safeBoot: z.boolean().default(false),
  /** Kexts always included, whatever their OSBundleRequired. */
  kexts: z.array(z.string()).default([]),
});

export const bootImageSchema = z.discriminatedUnion("kind", [
  linuxLoaderImage("ipxe"),
  linuxLoaderImage("grub"),
  linuxLoaderImage("pxelinux"),
  /**
   * Secure Boot's chain from Debian's signed packages: shim (signed by Microsoft's UEFI CA), Debian's signed network GRUB,
   * Debian's signed kernel (a linux.kernel of your own must be signed by a key shim trusts), then the initrd (not verified).
   */
  linuxLoaderImage("signed-grub"),
  z.strictObject({
    name,
    kind: z.literal("netbsd"),
    /** NetBSD's pxeboot_ia32.bin, from the user's NetBSD release. */
    pxeboot: z.string(),
    /** The NetBSD kernel (e.g. netbsd-GENERIC). */
    kernel: z.string(),
    /** Use the serial-console variant of pxeboot (console on com0). */
    serialConsole: z.boolean().default(false),
  }),
  z.strictObject({
    name,
    kind: z.literal("darwin-nbi"),
    /** Folder name of the image without `.nbi`; defaults to the image name. */
    nbiName: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, "must start with a letter or digit and use only letters, digits, space, '.', '_' and '-'")
      .optional(),
    /** Shown in the boot picker. */
    description: z.string().optional(),
    /** EFI booter (boot.efi) from the user's Mac OS X media. */
    booter: z.string(),
    /** BIOS PXE chain loader (boot1pxe); BIOS clients can only use images that have one. */
    pxeBooter: z.string().optional(),
    /** Kernel (mach_kernel) from the user's media. */
    kernel: z.string(),
    /** Extension folders and named .kext bundles for the mkext. */
    extensions: z.array(z.string()).min(1),
    /** Root file system image (NetInstall.dmg / NetBoot.dmg). */
    rootImage: z.string(),
    protocol: z.enum(["nfs", "http"]).default("nfs"),
    /** Extra kernel boot-args, e.g. `-s` or `cpus=1`; an arg here replaces a generated one with the same key (`rd=`, `rp=`, `debug=`). */
    bootArgs: z.array(z.string()).default([]),
    /** Verbose boot (`-v`). */
    verbose: z.boolean().default(true),
    /** Kernel messages on the first serial port too (`serial=3`), for capturing boot logs from a VM. */
    serialConsole: z.boolean().default(false),
    /** Kernel debug flags, e.g. `0x144` (`debug=0x144`); none by default. */
    debugFlags: z
      .string()
      .regex(/^0x[0-9a-fA-F]{1,8}$/, "must be a hex number such as 0x144")
      .optional(),
    /** NBImageInfo.plist `Index` (BSDP image id): 1-4095 server-local, 4096-65535 shared; default derived from the image name. */
    index: z.number().int().min(1).max(65535).optional(),
    mkext: mkextOptions.prefault({}),
    /** How BSDP lists the image to Macs and which Macs may choose it (NBImageInfo.plist `Kind`, `IsInstall` and filter lists). */
    bsdp: z
      .strictObject({
        /** `mac-os-x` (1), `mac-os-x-server` (2) or `diagnostics` (3: listed only to Macs that ask for it by attributes). */
        kind: z.enum(Object.keys(NETBOOT_IMAGE_KINDS) as [NetbootImageKind, ...NetbootImageKind[]]).default("mac-os-x"),
        /** A NetInstall image (the install bit of its ID); default: the root image's file name contains "NetInstall". */
        install: z.boolean().optional(),
        /** Mac models that may boot it (`EnabledSystemIdentifiers`, e.g. `MacPro3,1`); empty: every model. */
        enabledSystemIdentifiers: z.array(z.string()).default([]),
        /** Only these MACs may boot it (`EnabledMACAddresses`); empty: every MAC not disabled. */
        enabledMacAddresses: z.array(z.string()).default([]),
        /** These MACs may not (`DisabledMACAddresses`). */
        disabledMacAddresses: z.array(z.string()).default([]),
      })
      .prefault({}),
  }),
]);

/** How QEMU runs guest code: `kvm` (hardware virtualization), `tcg` (software emulation), or `auto` (KVM when it is usable, else TCG). */
export const QEMU_ACCELERATORS = ["auto", "kvm", "tcg"] as const;
export type QemuAccelerator = (typeof QEMU_ACCELERATORS)[number];

/**
 * How a QEMU guest's NIC joins the lab bridge: `tap` (a tap the provider creates and enslaves;
 * needs root), `bridge-helper` (QEMU's setuid qemu-bridge-helper; needs `allow <bridge>` in
 * /etc/qemu/bridge.conf), or `auto` (tap as root, the bridge helper otherwise).
 */
export const QEMU_ATTACHMENTS = ["auto", "tap", "bridge-helper"] as const;
export type QemuAttachment = (typeof QEMU_ATTACHMENTS)[number];

/** What a Fusion VM's NIC is connected to: bridged to a named host interface (en0), or a custom vmnet (vmnet2). */
const vmxConnection = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("bridged"), hostInterface: z.string().regex(/^[a-z][a-z0-9]{0,14}$/, "must be a macOS interface name such as en0") }),
  z.strictObject({ type: z.literal("custom"), vnet: z.string().regex(/^vmnet\d{1,3}$/, "must name a vmnet such as vmnet2") }),
]);

const memoryMiB = z.number().int().min(32).max(1048576);
const cpus = z.number().int().min(1).max(64);

/** `netboot-lab:qemu`: how this machine runs the lab's QEMU clients. */
export const qemuSettingsSchema = z.strictObject({
  accel: z.enum(QEMU_ACCELERATORS).default("auto"),
  attach: z.enum(QEMU_ATTACHMENTS).default("auto"),
  memoryMiB: memoryMiB.default(1024),
  cpus: cpus.default(1),
  /** Folder of each guest's serial log, QEMU log and QMP socket; relative paths resolve from the project folder. */
  runDir: z.string().min(1).default(".netboot-lab/qemu"),
  /** How long a guest may take to power off after ACPI shutdown before its QEMU is terminated. */
  stopTimeoutSeconds: z.number().int().min(0).max(600).default(10),
});

/** `netboot-lab:fusion`: where and how the lab's VMware Fusion clients are written. */
export const fusionSettingsSchema = z.strictObject({
  /** Folder the `<name>.vmwarevm` bundles are written to; `~` is the home folder. */
  vmFolder: z.string().min(1).default("~/Virtual Machines.localized/netboot-lab"),
  memoryMiB: memoryMiB.default(2048),
  cpus: cpus.default(1),
  /** Default connection of every Fusion client's NIC. */
  connection: vmxConnection.default({ type: "bridged", hostInterface: "en0" }),
});

export const clientSchema = z.strictObject({
  name,
  mac: z.string(),
  ipv4: z.string().optional(),
  platform: z.enum(PLATFORMS).default("qemu"),
  firmware: z.enum(FIRMWARES).default("bios"),
  /** `http`: UEFI HTTP Boot (efi-x64, efi-arm64), whose NIC defaults to qemu-virtio. */
  netboot: z.enum(NETBOOT_PROTOCOLS).default("pxe"),
  nic: z.enum(NIC_MODELS).optional(),
  bootImage: z.string(),
  /**
   * QEMU: run OVMF's Secure Boot build with Microsoft's keys enrolled (a per-guest copy of its variables), which loads only
   * signed code: needs firmware efi-x64, nic qemu-virtio and a signed-grub boot image (lib/model/secure-boot.ts).
   */
  secureBoot: z.boolean().default(false),
  /** Guest memory; default `qemu.memoryMiB` / `fusion.memoryMiB`. */
  memoryMiB: memoryMiB.optional(),
  /** Virtual CPUs; default `qemu.cpus` / `fusion.cpus`. */
  cpus: cpus.optional(),
  /** Start the VM on `pulumi up` (QEMU: the managed process; Fusion: `vmrun start` when vmrun is installed). */
  autostart: z.boolean().default(true),
  /** QEMU: overrides `qemu.accel` for this guest. */
  accel: z.enum(QEMU_ACCELERATORS).optional(),
  /** Fusion: the VM's name in the library and of its `<displayName>.vmwarevm` folder; default the client name. */
  displayName: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/,
      "must start with a letter or digit and use only letters, digits, space, '.', '_' and '-' (at most 64 characters)",
    )
    .optional(),
  /**
   * Fusion: VMware's guestOS key (darwin10, other, other5xlinux-64, …); default derived from the boot image,
   * in the bitness of an EFI firmware (efi-x64: darwin10-64; efi-ia32: darwin10), since VMware picks its EFI's bitness from it.
   */
  guestOS: z.string().optional(),
  /** Fusion: overrides `fusion.connection` for this VM. */
  connection: vmxConnection.optional(),
  /**
   * Fusion: a VNC server on this port (RemoteDisplay.vnc.*), its password the secret `netboot-lab:vncPassword`.
   * Without that secret `pulumi up` refuses the client, unless `allowWithoutPassword: true` (default false) accepts an open console.
   */
  vnc: z.strictObject({ port: z.number().int().min(1).max(65535), allowWithoutPassword: z.boolean().default(false) }).optional(),
  /**
   * Fusion: EFI firmware ROM override, a path on the Mac: `efi64` for efi-x64 clients (`efi64.filename`), `efi32` for
   * efi-ia32 ones (`efi32.filename`); VMware never reads the other, so it is refused.
   */
  efiRom: z.strictObject({ efi32: z.string().min(1).optional(), efi64: z.string().min(1).optional() }).optional(),
});

/** The lab's answers to Macs' Boot Service Discovery Protocol requests for its darwin-nbi images. */
export const bsdpSchema = z.strictObject({
  /** Answer BSDP (off: another NetBoot server on the network answers the Macs). */
  enabled: z.boolean().default(true),
  /** BSDP server priority, 0-65535: a Mac that hears several servers takes the highest's default image. */
  serverPriority: z.number().int().min(0).max(65535).default(32768),
  /** Name of the darwin-nbi image a Mac boots when it has not chosen one; default: the first darwin-nbi image. */
  defaultImage: name.optional(),
});

export const labConfigSchema = z.strictObject({
  network: networkSchema,
  /**
   * Folder that relative paths of boot images (Apple and NetBSD binaries from your own media)
   * resolve from; default: the project folder (where Pulumi.yaml is).
   */
  mediaDir: z.string().min(1).optional(),
  docker: dockerSchema.prefault({}),
  servers: serversSchema.prefault({}),
  bootImages: z.array(bootImageSchema).default([]),
  clients: z.array(clientSchema).default([]),
  bsdp: bsdpSchema.prefault({}),
  qemu: qemuSettingsSchema.prefault({}),
  fusion: fusionSettingsSchema.prefault({}),
});

export type LabConfigInput = z.input<typeof labConfigSchema>;
export type LabConfig = z.output<typeof labConfigSchema>;
export type BootImageConfig = LabConfig["bootImages"][number];
export type ClientConfig = LabConfig["clients"][number];
export type VmxConnectionConfig = z.output<typeof vmxConnection>;

/** The stack-config keys the program reads, each under the `netboot-lab:` namespace. */
export const CONFIG_KEYS = ["network", "mediaDir", "docker", "servers", "bootImages", "clients", "bsdp", "qemu", "fusion"] as const;
/** Secret stack-config keys: read by the program with `config.getSecret`, never part of the model (the CLI cannot decrypt them). */
export const SECRET_CONFIG_KEYS = ["vncPassword"] as const;
export const CONFIG_NAMESPACE = "netboot-lab";
