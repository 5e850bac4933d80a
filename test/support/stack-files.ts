/**
 * Stack files as users have them after `pulumi config set --secret`: the fusion stack's VNC
 * server needs the secret netboot-lab:vncPassword, which the shipped file leaves for each user to set.
 */
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_DIR } from "./pulumi-harness";

/**
 * A project folder (Pulumi.yaml and `stacks/Pulumi.<stack>.yaml`) whose stack file also holds
 * `netboot-lab:vncPassword` in the shape Pulumi writes a secret. The ciphertext decrypts to
 * nothing: netboot-lab only asks whether the secret is set, which needs no decryption.
 */
export function stackWithVncPassword(stack: string): { readonly dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "nbl-stack-"));
  mkdirSync(join(dir, "stacks"));
  copyFileSync(join(PROJECT_DIR, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  const file = join(dir, "stacks", `Pulumi.${stack}.yaml`);
  copyFileSync(join(PROJECT_DIR, "stacks", `Pulumi.${stack}.yaml`), file);
  appendFileSync(file, "  netboot-lab:vncPassword:\n    secure: v1:bmV0Ym9vdC1sYWI=:c2VjcmV0LW5vdC1kZWNyeXB0ZWQ=\n");
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
