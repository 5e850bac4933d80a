/**
 * scripts/lab.sh, the one command that deploys a stack: it refuses to run a stack holding secret
 * (secure:) values with an empty config passphrase, which would encrypt them with an empty key,
 * and says how to set one. Run in a copy of the project with `npm` and `pulumi` stand-ins on
 * PATH that record how they were called, so no Pulumi CLI is needed.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { PROJECT_DIR } from "../support/pulumi-harness";

const project = mkdtempSync(join(tmpdir(), "nbl-lab-sh-"));
afterAll(() => rmSync(project, { recursive: true, force: true }));
const bin = join(project, "bin");
const calls = join(project, "calls.log");
mkdirSync(join(project, "scripts"));
mkdirSync(join(project, "stacks"));
mkdirSync(join(project, "node_modules"));
mkdirSync(bin);
copyFileSync(join(PROJECT_DIR, "scripts", "lab.sh"), join(project, "scripts", "lab.sh"));
for (const tool of ["npm", "pulumi"]) {
  writeFileSync(join(bin, tool), `#!/bin/sh\necho "${tool} $* passphrase=\${PULUMI_CONFIG_PASSPHRASE-unset}" >>"${calls}"\n`, { mode: 0o755 });
}
const passphraseFile = join(project, "passphrase");
writeFileSync(passphraseFile, "correct horse\n");
const emptyFile = join(project, "empty-passphrase");
writeFileSync(emptyFile, " \n");

writeFileSync(
  join(project, "stacks", "Pulumi.secret.yaml"),
  ["encryptionsalt: v1:abc", "config:", "  netboot-lab:network:", "    subnet: 10.77.0.0/24", "  netboot-lab:vncPassword:", "    secure: v1:def:ghi", ""].join(
    "\n",
  ),
);
writeFileSync(join(project, "stacks", "Pulumi.plain.yaml"), ["config:", "  netboot-lab:network:", "    subnet: 10.77.0.0/24", ""].join("\n"));

/** `npm run lab -- up STACK` with only `env` set (and a PATH whose npm and pulumi are the stand-ins). */
async function labUp(stack: string, env: Record<string, string>) {
  rmSync(calls, { force: true });
  const result = await execa("bash", [join(project, "scripts", "lab.sh"), "up", stack], {
    extendEnv: false,
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: project, ...env },
    reject: false,
  });
  return { ...result, calls: existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : [] };
}

const REFUSAL = [
  "netboot-lab: stacks/Pulumi.secret.yaml holds secret (secure:) values, but the config passphrase is empty, so",
  "they are encrypted with an empty key. Set the passphrase the secrets were set with:",
  "  export PULUMI_CONFIG_PASSPHRASE_FILE=~/.netboot-lab-passphrase   (a file holding it, mode 600)",
  "  or: export PULUMI_CONFIG_PASSPHRASE='...'",
  "Secrets set with an empty passphrase: choose one, then run",
  "  pulumi stack change-secrets-provider passphrase --stack secret",
  "and set them again (pulumi config set --secret ...).",
].join("\n");

describe("lab.sh and the config passphrase", () => {
  it.each([
    ["no passphrase at all", {}],
    ["PULUMI_CONFIG_PASSPHRASE empty", { PULUMI_CONFIG_PASSPHRASE: "" }],
    ["a passphrase file holding nothing", { PULUMI_CONFIG_PASSPHRASE_FILE: emptyFile }],
    [
      "an empty PULUMI_CONFIG_PASSPHRASE beside a file (Pulumi takes the variable)",
      { PULUMI_CONFIG_PASSPHRASE: "", PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile },
    ],
  ])("refuses a stack with secure: values and %s, before calling npm or pulumi", async (_, env) => {
    const result = await labUp("secret", env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(REFUSAL);
    expect(result.calls).toEqual([]);
  });

  it("runs it with a passphrase in PULUMI_CONFIG_PASSPHRASE", async () => {
    const result = await labUp("secret", { PULUMI_CONFIG_PASSPHRASE: "correct horse" });
    expect(result.stderr).toBe("");
    expect(result.calls.at(-1)).toBe("pulumi up --stack secret passphrase=correct horse");
  });

  it("runs it with a passphrase file, which an empty PULUMI_CONFIG_PASSPHRASE would override", async () => {
    const result = await labUp("secret", { PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile });
    expect(result.stderr).toBe("");
    expect(result.calls.at(-1)).toBe("pulumi up --stack secret passphrase=unset");
  });

  it("runs a stack without secrets prompt-free, with an empty passphrase", async () => {
    const result = await labUp("plain", {});
    expect(result.stderr).toBe("");
    expect(result.calls).toEqual([
      "npm run --silent netboot-lab -- render --stack plain --out .pulumi-state/rendered/plain passphrase=unset",
      "pulumi stack select --create plain --non-interactive passphrase=",
      "pulumi up --stack plain passphrase=",
    ]);
  });
});
