import type { Command } from "../cli-error";
import { renderCommand } from "./render";
import { probeCommand } from "./probe";
import { nbiCommand } from "./nbi";
import { payloadCommand } from "./payload";
import { mkextCommand } from "./mkext";
import { checkCommand } from "./check";
import { watchCommand } from "./watch";
import { bsdpCommand } from "./bsdp";
import { keepCommand } from "./keep";
import { proxyDhcpCommand } from "./proxy-dhcp";

/** Every sub-command by name. Add new ones here. */
export const COMMANDS: Record<string, Command> = {
  render: renderCommand,
  probe: probeCommand,
  nbi: nbiCommand,
  payload: payloadCommand,
  mkext: mkextCommand,
  check: checkCommand,
  watch: watchCommand,
  bsdp: bsdpCommand,
  keep: keepCommand,
  "proxy-dhcp": proxyDhcpCommand,
};
