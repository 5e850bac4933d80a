/** IPv4 and MAC address arithmetic for the lab model. Addresses are kept as unsigned 32-bit numbers. */

const IPV4_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAC_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Parses dotted-quad notation; undefined when the text is not an IPv4 address. */
export function parseIpv4(text: string): number | undefined {
  const match = IPV4_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const octets = match.slice(1).map(Number);
  if (octets.some((octet) => octet > 255)) return undefined;
  return octets.reduce((value, octet) => value * 256 + octet, 0);
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join(".");
}

export interface Ipv4Subnet {
  /** Network address, e.g. 10.77.0.0 as a number. */
  readonly network: number;
  readonly prefixLength: number;
}

/** Parses `A.B.C.D/N`; the address must be the network address itself (no host bits set). */
export function parseSubnet(text: string): Ipv4Subnet | { error: string } {
  const [address, prefix, ...rest] = text.trim().split("/");
  const network = address === undefined ? undefined : parseIpv4(address);
  const prefixLength = Number(prefix);
  if (rest.length || network === undefined || !/^\d{1,2}$/.test(prefix ?? "") || prefixLength > 30 || prefixLength < 8) {
    return { error: "is not an IPv4 subnet in CIDR form with a prefix length from /8 to /30, e.g. 10.77.0.0/24" };
  }
  const mask = prefixMask(prefixLength);
  if ((network & ~mask) >>> 0 !== 0) {
    return { error: `has host bits set; the network address of that subnet is ${formatIpv4((network & mask) >>> 0)}/${prefixLength}` };
  }
  return { network, prefixLength };
}

export function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function subnetMask(subnet: Ipv4Subnet): string {
  return formatIpv4(prefixMask(subnet.prefixLength));
}

export function broadcastAddress(subnet: Ipv4Subnet): number {
  return (subnet.network | ~prefixMask(subnet.prefixLength)) >>> 0;
}

/** The first and last address a host may use (network and broadcast excluded). */
export function hostRange(subnet: Ipv4Subnet): { first: number; last: number } {
  return { first: subnet.network + 1, last: broadcastAddress(subnet) - 1 };
}

export function isHostInSubnet(address: number, subnet: Ipv4Subnet): boolean {
  const { first, last } = hostRange(subnet);
  return address >= first && address <= last;
}

export function formatSubnet(subnet: Ipv4Subnet): string {
  return `${formatIpv4(subnet.network)}/${subnet.prefixLength}`;
}

/** Normalises a MAC address to lower-case colon form; undefined when it is not one. Accepts `-` separators. */
export function normaliseMac(text: string): string | undefined {
  const candidate = text.trim().toLowerCase().replace(/-/g, ":");
  return MAC_PATTERN.test(candidate) ? candidate : undefined;
}
