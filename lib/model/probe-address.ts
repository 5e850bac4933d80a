/**
 * The address a short-lived probe container (`netboot-lab check`, `bsdp list|select`) takes on
 * the lab network: the highest one the model leaves free (no pool, reservation, server, gateway,
 * router or DNS server), so it never takes an address dhcpd may hand a client.
 */
import { UserError } from "../errors";
import { formatIpv4, hostRange, parseIpv4, parseSubnet } from "../net/ipv4";
import type { LabModel } from "./validate";

export function probeAddress(lab: LabModel): string {
  const { network } = lab;
  const subnet = parseSubnet(network.subnet);
  if ("error" in subnet) throw new Error(`lab subnet ${network.subnet} ${subnet.error}`);
  const taken = new Set(
    [network.serverAddress, network.gateway, network.router, ...network.dnsServers, ...lab.clients.map((client) => client.ipv4)]
      .filter((address): address is string => address !== undefined)
      .map((address) => parseIpv4(address)),
  );
  const pools = network.pools.map((pool) => ({ start: parseIpv4(pool.start)!, end: parseIpv4(pool.end)! }));
  const { first, last } = hostRange(subnet);
  for (let address = last; address >= first; address--) {
    if (!taken.has(address) && !pools.some((pool) => address >= pool.start && address <= pool.end)) return formatIpv4(address);
  }
  throw new UserError(`the lab subnet ${network.subnet} has no address left outside its pools and reservations for a probe; shrink a pool`);
}
