/**
 * Generated labs through the real dhcpd and Kea syntax checks: any valid stack a user can write must
 * render a dhcpd.conf that ISC dhcpd accepts and a kea-dhcp4.conf that Kea accepts. fast-check
 * shrinks a failure to the smallest lab.
 */
import { execa } from "execa";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { validateLab } from "../../lib/model";
import { renderDhcpdConf } from "../../lib/servers/dhcpd";
import { KEA_BOOTP_HOOK, renderKeaConf } from "../../lib/servers/kea";
import { generatedLabs as labs } from "../support/generated-labs";

const workDir = mkdtempSync(join(tmpdir(), "nbl-dhcpd-gen-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

it("every generated lab renders a dhcpd.conf that dhcpd -t accepts and a kea-dhcp4.conf that kea-dhcp4 -t accepts", async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(labs, async (config) => {
      const lab = validateLab(config);
      const path = join(workDir, `lab-${run++}`);
      writeFileSync(`${path}.conf`, renderDhcpdConf(lab));
      const dhcpd = await execa("dhcpd", ["-t", "-4", "-cf", `${path}.conf`], { reject: false, all: true });
      expect(dhcpd.exitCode, dhcpd.all).toBe(0);
      writeFileSync(`${path}.json`, renderKeaConf(lab, { leases: `${path}.leases.csv`, bootpHook: KEA_BOOTP_HOOK }));
      const kea = await execa("kea-dhcp4", ["-t", `${path}.json`], { reject: false, all: true });
      expect(kea.exitCode, kea.all).toBe(0);
    }),
    { numRuns: 60, seed: 20261121 },
  );
});
