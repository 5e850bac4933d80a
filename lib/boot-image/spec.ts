/**
 * The payload spec: everything the builder container needs to build one boot image into
 * the boot tree. The Pulumi program writes it (with user files re-pointed at their upload
 * paths) and `netboot-lab payload build --spec FILE` reads it back.
 */
import { z } from "zod";
import { UserError } from "../errors";
import { BOOT_REQUESTERS, bootImageSchema, type BootFileSet, type BootImageConfig } from "../model";

export const PAYLOAD_SPEC_VERSION = 1;

/**
 * Folder of the boot tree that holds each image's user files as uploaded (`<image>/<sha256>/<name>`),
 * readable by root only so the servers (tftpd as nobody, nginx as www-data) never serve it. The
 * build hard-links them into the image folder, so an unchanged file is uploaded once, whatever
 * else of the image changes.
 */
export const MEDIA_FOLDER = ".netboot-lab-media";

/** Where the builder container finds its inputs and the boot tree. */
export const BUILDER_PATHS = {
  spec: "/netboot-lab/spec.json",
  inputDir: "/netboot-lab/input",
  bootTree: "/srv/boot",
  media: `/srv/boot/${MEDIA_FOLDER}`,
} as const;

export interface PayloadSpec {
  readonly version: typeof PAYLOAD_SPEC_VERSION;
  /** The image's validated config; its file fields name files inside the builder container. */
  readonly image: BootImageConfig;
  /** From lib/model's bootFilesFor: the files the build must produce. */
  readonly bootFiles: BootFileSet;
  /** darwin-nbi: the mkext archives the program built, by architecture (paths in the container). */
  readonly mkexts?: Partial<Record<"i386" | "x86_64", string>>;
}

const bootFileSetSchema = z.strictObject({
  files: z.partialRecord(z.enum(BOOT_REQUESTERS), z.string()),
  rootPath: z.string().optional(),
  httpBaseUrl: z.string().optional(),
});

const payloadSpecSchema = z.strictObject({
  version: z.literal(PAYLOAD_SPEC_VERSION),
  image: bootImageSchema,
  bootFiles: bootFileSetSchema,
  mkexts: z.partialRecord(z.enum(["i386", "x86_64"]), z.string()).optional(),
});

/** Parses a spec file's text; errors name the file, the field and the expected shape. */
export function parsePayloadSpec(text: string, source: string): PayloadSpec {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(
      `${source} is not JSON (${(error as Error).message}); it is written by the BootImage component or by hand as {"version":1,"image":…,"bootFiles":…}`,
      1,
      { cause: error },
    );
  }
  const parsed = payloadSpecSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  - ${issue.path.join(".") || "(top level)"}: ${issue.message}`);
    throw new UserError(`${source} is not a valid payload spec:\n${problems.join("\n")}`);
  }
  return parsed.data as PayloadSpec;
}

export function serializePayloadSpec(spec: PayloadSpec): string {
  return `${JSON.stringify(spec, null, 2)}\n`;
}
