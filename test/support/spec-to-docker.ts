/**
 * Runs a ServerContainerSpec on the local Docker engine the way the NetbootServer component
 * declares it: all capabilities dropped but the spec's, joined to a pod's network namespace,
 * volumes by role, rendered files uploaded before the first start. A spec field this mapping
 * does not know makes it throw, so a new field can't be silently left out of the tests.
 */
import { execa } from "execa";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { ServerContainerSpec, VolumeRole } from "../../lib/servers/spec";

const MAPPED_FIELDS = new Set(["role", "entrypoint", "command", "files", "capabilities", "securityOpts", "tmpfs", "mounts", "why"]);

export interface DockerPlacement {
  readonly containerName: string;
  readonly image: string;
  /** Container whose network namespace the daemon joins (`--network container:<pod>`). */
  readonly pod: string;
  readonly volumes: Readonly<Partial<Record<VolumeRole, string>>>;
  readonly labels: Readonly<Record<string, string>>;
}

export function dockerCreateArgs(spec: ServerContainerSpec, placement: DockerPlacement): string[] {
  const unmapped = Object.keys(spec).filter((field) => !MAPPED_FIELDS.has(field));
  if (unmapped.length) throw new Error(`spec-to-docker does not map ServerContainerSpec field(s) ${unmapped.join(", ")}; extend it in test/support/spec-to-docker.ts`);
  const [executable, ...entrypointArgs] = spec.entrypoint;
  if (!executable) throw new Error(`spec ${spec.role} has an empty entrypoint; give it the daemon's argv`);
  return [
    "create",
    "--name", placement.containerName,
    ...Object.entries(placement.labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]),
    "--network", `container:${placement.pod}`,
    "--cap-drop", "ALL",
    ...spec.capabilities.flatMap((capability) => ["--cap-add", capability]),
    ...spec.securityOpts.flatMap((option) => ["--security-opt", option]),
    ...Object.entries(spec.tmpfs).flatMap(([target, options]) => ["--tmpfs", options ? `${target}:${options}` : target]),
    ...spec.mounts.flatMap((mount) => ["--mount", volumeMount(mount.volume, mount.target, mount.readOnly, placement)]),
    "--entrypoint", executable,
    placement.image,
    ...entrypointArgs,
    ...spec.command,
  ];
}

function volumeMount(role: VolumeRole, target: string, readOnly: boolean, placement: DockerPlacement): string {
  const source = placement.volumes[role];
  if (!source) throw new Error(`spec mounts the ${role} volume, but the placement names no volume for that role`);
  return `type=volume,source=${source},target=${target}${readOnly ? ",readonly" : ""}`;
}

/** Creates the container and uploads the spec's files; returns the container id. Start it with `docker start`. */
export async function createContainerFromSpec(spec: ServerContainerSpec, placement: DockerPlacement): Promise<string> {
  const id = (await execa("docker", dockerCreateArgs(spec, placement))).stdout.trim();
  if (spec.files.length) await uploadFiles(id, spec.files);
  return id;
}

/** One tar from `/`, so missing parent folders are created the way the component's uploads create them. */
async function uploadFiles(container: string, files: ServerContainerSpec["files"]): Promise<void> {
  const staging = mkdtempSync(join(tmpdir(), "nbt-spec-files-"));
  try {
    for (const file of files) {
      const local = join(staging, file.path);
      mkdirSync(dirname(local), { recursive: true, mode: 0o755 });
      writeFileSync(local, file.content);
      chmodSync(local, file.executable ? 0o755 : 0o644);
    }
    const topLevel = [...new Set(files.map((file) => file.path.split("/")[1]!))];
    const archive = await execa("tar", ["--owner=0", "--group=0", "-C", staging, "-c", ...topLevel], { encoding: "buffer" });
    await execa("docker", ["cp", "-", `${container}:/`], { input: archive.stdout });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
