/**
 * The proxyDHCP server's sockets: 0.0.0.0:67 for the PXE DISCOVERs clients broadcast, shared
 * with the BSDP responder (both SO_REUSEADDR, both get every broadcast; neither binds the
 * server address on 67, which would take unicast BSDP INFORMs from the other), and 0.0.0.0:4011
 * for the follow-up requests, which PXE clients send to the proxy's address (some broadcast them).
 */
import type { Socket } from "node:dgram";
import { DHCP_SERVER_PORT, encodeDhcpPacket } from "../net/dhcp/packet";
import { bindServerSocket } from "../net/dhcp/server-socket";
import { answerProxyDhcp, PXE_PROXY_PORT, type ProxyDhcpConfig } from "./server";

export interface ProxyDhcpResponder {
  close(): Promise<void>;
}

const WHO = "proxy-dhcp serve";

export async function startProxyDhcpResponder(config: ProxyDhcpConfig, log: (line: string) => void): Promise<ProxyDhcpResponder> {
  const discover = await bindServerSocket(WHO, "0.0.0.0", DHCP_SERVER_PORT);
  const proxy = await bindServerSocket(WHO, "0.0.0.0", PXE_PROXY_PORT).catch((error: unknown) => {
    discover.close();
    throw error;
  });
  discover.setBroadcast(true);
  const listen = (socket: Socket, port: number) => {
    socket.on("message", (datagram, remote) => {
      const decision = answerProxyDhcp(datagram, port, remote, config);
      if (decision.log) log(decision.log);
      if (decision.kind !== "reply") return;
      // Replies leave from the port the request came to: 67 for offers, 4011 for ACKs.
      socket.send(encodeDhcpPacket(decision.reply), decision.port, decision.address, (error) => {
        if (error) log(`sending to ${decision.address}:${decision.port} failed: ${error.message}`);
      });
    });
    socket.on("error", (error) => log(`socket error on port ${port}: ${error.message}`));
  };
  listen(discover, DHCP_SERVER_PORT);
  listen(proxy, PXE_PROXY_PORT);
  log(
    `answering PXE as a proxy on ports ${DHCP_SERVER_PORT} and ${PXE_PROXY_PORT} for ${config.serverAddress}, ${config.clients.length} client(s): ${config.clients.map((client) => `${client.name} ${client.mac}`).join(", ")}; the site's DHCP server gives the addresses`,
  );
  return {
    close: async () => {
      await Promise.all([discover, proxy].map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}
