/**
 * A UDP socket a lab server answers DHCP on (the BSDP responder, the proxyDHCP server), bound
 * with SO_REUSEADDR like ISC dhcpd's own, so several of them share port 67 in one network
 * namespace: Linux hands a broadcast to every such socket bound to 0.0.0.0.
 */
import { createSocket, type Socket } from "node:dgram";
import { UserError } from "../../errors";

/** Binds `address:port`; `who` names the server in errors (`bsdp serve`, `proxy-dhcp serve`). */
export function bindServerSocket(who: string, address: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: "udp4", reuseAddr: true });
  return new Promise((resolve, reject) => {
    socket.once("error", (error: NodeJS.ErrnoException) => {
      socket.close();
      if (error.code === "EACCES") reject(new UserError(`${who}: binding UDP port ${port} on ${address} needs root or CAP_NET_BIND_SERVICE`));
      else if (error.code === "EADDRINUSE") {
        reject(
          new UserError(`${who}: UDP port ${port} on ${address} is held by a program without SO_REUSEADDR (ISC dhcpd sets it; another DHCP server may not)`),
        );
      } else if (error.code === "EADDRNOTAVAIL")
        reject(new UserError(`${who}: ${address} is not an address of this host; run it in the lab server's network namespace`));
      else reject(error);
    });
    socket.bind({ port, address }, () => {
      socket.removeAllListeners("error");
      resolve(socket);
    });
  });
}
