/**
 * Labs a user could write, for property-based tests: the generator whose labs must pass
 * `dhcpd -t` and `kea-dhcp4 -t` (test/servers/dhcpd-generated.test.ts) and whose samples the DHCP
 * equivalence matrix serves with both servers (test/integration/dhcp-equivalence.test.ts).
 */
import fc from "fast-check";
import { FIRMWARES, type LabConfigInput } from "../../lib/model";
import { formatIpv4, hostRange, parseSubnet, type Ipv4Subnet } from "../../lib/net/ipv4";

type BootImageInput = NonNullable<LabConfigInput["bootImages"]>[number];

/** One image of each kind, named `image-<index>`. */
const IMAGE_KINDS: ((name: string) => BootImageInput)[] = [
  (name) => ({ name, kind: "ipxe", nfsRoot: true }),
  (name) => ({ name, kind: "grub" }),
  (name) => ({ name, kind: "pxelinux" }),
  (name) => ({ name, kind: "netbsd", pxeboot: "pxeboot_ia32.bin", kernel: "netbsd" }),
  (name) => ({
    name,
    kind: "darwin-nbi",
    booter: "booter",
    pxeBooter: "boot1pxe",
    kernel: "mach_kernel",
    extensions: ["Extensions"],
    rootImage: "NetInstall.dmg",
  }),
];

/** A lab whose clients sit below the pool and whose pool is the subnet's top quarter. */
export const generatedLabs = fc
  .record({
    network: fc.integer({ min: 0, max: 255 }).map((octet) => `10.${octet}.0.0`),
    prefixLength: fc.integer({ min: 16, max: 26 }),
    images: fc.uniqueArray(fc.integer({ min: 0, max: IMAGE_KINDS.length - 1 }), { minLength: 1, maxLength: IMAGE_KINDS.length }),
    clients: fc.array(fc.record({ image: fc.nat(), firmware: fc.constantFrom(...FIRMWARES), fixed: fc.boolean() }), { maxLength: 12 }),
    allowUnknownClients: fc.boolean(),
    router: fc.boolean(),
    http: fc.boolean(),
  })
  .map((drawn): LabConfigInput => {
    const subnet = parseSubnet(`${drawn.network}/${drawn.prefixLength}`) as Ipv4Subnet;
    const { first, last } = hostRange(subnet);
    const poolStart = last - Math.floor((last - first) / 4);
    const bootImages = drawn.images.map((index) => IMAGE_KINDS[index]!(`image-${index}`));
    return {
      network: {
        subnet: `${drawn.network}/${drawn.prefixLength}`,
        pools: [{ start: formatIpv4(poolStart), end: formatIpv4(last) }],
        allowUnknownClients: drawn.allowUnknownClients,
        ...(drawn.router ? { router: formatIpv4(first), gateway: formatIpv4(first + 2) } : {}),
      },
      servers: { http: { enabled: drawn.http } },
      bootImages,
      clients: drawn.clients.map((client, index) => {
        const image = bootImages[client.image % bootImages.length]!;
        // Every kind boots BIOS here (the Darwin image has a pxeBooter); EFI only where the kind has a loader.
        const firmware = image.kind === "netbsd" || (image.kind !== "darwin-nbi" && client.firmware === "efi-ia32") ? "bios" : client.firmware;
        return {
          name: `client-${index}`,
          mac: `52:54:00:00:${(index >> 8).toString(16).padStart(2, "0")}:${(index & 0xff).toString(16).padStart(2, "0")}`,
          ...(client.fixed ? { ipv4: formatIpv4(first + 10 + index) } : {}),
          firmware,
          // OVMF's ia32 build netboots a QEMU guest through virtio only.
          ...(firmware === "efi-ia32" ? { nic: "qemu-virtio" as const } : {}),
          bootImage: image.name,
        };
      }),
    };
  });
