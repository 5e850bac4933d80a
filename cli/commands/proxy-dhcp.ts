/**
 * `netboot-lab proxy-dhcp serve`: the lab's proxyDHCP server (lib/servers/proxy-dhcp.ts), in the
 * runtime image's CLI (cli/runtime-main.ts) beside the BSDP responder.
 */
import { parseArgs } from "node:util";
import { startProxyDhcpResponder } from "../../lib/proxy-dhcp/responder";
import type { ProxyDhcpConfig } from "../../lib/proxy-dhcp/server";
import type { Command } from "../cli-error";
import { readServeConfig, serveUntilStopped } from "./serve";

const USAGE = "proxy-dhcp serve --config FILE";

export const proxyDhcpCommand: Command = {
  usage: USAGE,
  actions: { serve: USAGE },
  summary: "answer PXE clients as a proxyDHCP server beside the site's DHCP server (the lab's proxy-dhcp container runs it)",
  async run(args) {
    const { values } = parseArgs({ args: args.slice(1), options: { config: { type: "string" } }, strict: true });
    const config = readServeConfig<ProxyDhcpConfig>("proxy-dhcp serve", USAGE, values.config, "proxy-dhcp/proxy-dhcp.json");
    return serveUntilStopped((log) => startProxyDhcpResponder(config, log));
  },
};
