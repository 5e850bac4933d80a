/** Every file a lab renders, as relative paths, for `netboot-lab render` and for inspection in tests. */
import { labSummary } from "./lab-summary";
import type { LabModel } from "./model/validate";
import { dhcpServers, labServers } from "./servers";

const CONFIG_ROOT = "/etc/netboot-lab/";

export interface RenderedFile {
  /** Path relative to the output folder, e.g. `dhcpd/dhcpd.conf`. */
  readonly path: string;
  readonly content: string;
}

/**
 * Both DHCP servers' configs, whichever the lab runs: dhcpd.conf and kea-dhcp4.conf side by side
 * show what a move between them changes.
 */
export function renderLabFiles(lab: LabModel): RenderedFile[] {
  const serverFiles = [...labServers(lab), dhcpServers(lab).other].flatMap((server) =>
    server.files.map((file) => ({
      path: file.path.startsWith(CONFIG_ROOT) ? file.path.slice(CONFIG_ROOT.length) : `${server.role}${file.path}`,
      content: file.content,
    })),
  );
  return [...serverFiles, { path: "lab.json", content: `${JSON.stringify(labSummary(lab), null, 2)}\n` }];
}
