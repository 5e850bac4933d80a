/**
 * The CLI of the lab's runtime image (images/runtime): the keeper (`keep`), the BSDP responder
 * (`bsdp serve`) and the proxyDHCP server (`proxy-dhcp serve`), the lab's long-running containers that run netboot-lab code.
 * Only what this file reaches is bundled (scripts/build-cli.mjs), and the image's tag follows
 * the bundle's bytes, so an edit elsewhere in the CLI replaces neither container.
 */
import { bsdpServeCommand } from "./commands/bsdp-serve";
import { keepCommand } from "./commands/keep";
import { proxyDhcpCommand } from "./commands/proxy-dhcp";
import { runCli } from "./run-cli";

runCli({ keep: keepCommand, bsdp: bsdpServeCommand, "proxy-dhcp": proxyDhcpCommand });
