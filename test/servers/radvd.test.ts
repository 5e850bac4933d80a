import { describe, expect, it } from "vitest";
import { validateLab } from "../../lib/model";
import { labServers } from "../../lib/servers";
import { labUlaPrefix, renderRadvdConf } from "../../lib/servers/radvd";
import { minimalLab } from "../model/fixtures";

describe("radvd", () => {
  const lab = validateLab(minimalLab());

  it("advertises a ULA prefix of the lab with router lifetime 0: solicitations answered, no route out", () => {
    const prefix = labUlaPrefix(lab);
    expect(prefix).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{4}:[0-9a-f]{4}::\/64$/);
    expect(renderRadvdConf(lab)).toBe(
      [
        "# netboot-lab: answer router solicitations so firmware stops waiting; never a default router.",
        "interface eth0 {",
        "  AdvSendAdvert on;",
        "  AdvDefaultLifetime 0;",
        "  MinRtrAdvInterval 30;",
        "  MaxRtrAdvInterval 120;",
        `  prefix ${prefix} {`,
        "    AdvOnLink on;",
        "    AdvAutonomous on;",
        "  };",
        "};",
        "",
      ].join("\n"),
    );
  });

  it("differs between labs, and runs on the lab's own bridge only, never on a macvlan", () => {
    expect(labUlaPrefix(validateLab(minimalLab({ network: { subnet: "10.78.0.0/24" }, clients: [] })))).not.toBe(labUlaPrefix(lab));
    expect(labServers(lab).map((server) => server.role)).toContain("radvd");
    const macvlan = validateLab(minimalLab({ network: { subnet: "10.77.0.0/24", mode: "macvlan", parentInterface: "eth1" }, clients: [] }));
    expect(labServers(macvlan).map((server) => server.role)).not.toContain("radvd");
  });
});
