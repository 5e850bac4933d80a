/**
 * BootImageBuild: one boot image built into the boot-tree volume, as a Pulumi resource whose
 * lifecycle is the image's: created and updated by running the builder (media streamed in,
 * never held in memory), deleted by removing the image's folder from the tree.
 */
import * as pulumi from "@pulumi/pulumi";
import { bootImageBuildProvider, type BootImageBuildInputs } from "./build-provider";

/** BootImageBuildInputs (documented there), with what other resources provide as Inputs. */
export interface BootImageBuildArgs extends Omit<
  BootImageBuildInputs,
  "dockerHost" | "sshOptions" | "builderImage" | "toolImage" | "bootTreeVolume" | "labels"
> {
  /** Default: DOCKER_HOST, else the local engine, as for the docker provider. */
  readonly dockerHost?: pulumi.Input<string | undefined>;
  /** Default: none (your ssh config applies, as for the docker CLI). */
  readonly sshOptions?: pulumi.Input<string[]>;
  readonly builderImage: pulumi.Input<string>;
  /** Default: the builder image. */
  readonly toolImage?: pulumi.Input<string>;
  readonly bootTreeVolume: pulumi.Input<string>;
  /** Default: none. */
  readonly labels?: Readonly<Record<string, string>>;
}

export class BootImageBuild extends pulumi.dynamic.Resource {
  /** Output of the builder container. */
  declare public readonly buildLog: pulumi.Output<string>;
  /** Container paths of the media the last build sent (the others were already in the volume). */
  declare public readonly uploaded: pulumi.Output<string[]>;
  declare public readonly contentHash: pulumi.Output<string>;

  constructor(name: string, args: BootImageBuildArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      bootImageBuildProvider,
      name,
      {
        ...args,
        dockerHost: args.dockerHost ?? "",
        sshOptions: args.sshOptions ?? [],
        toolImage: args.toolImage ?? args.builderImage,
        command: [...args.command],
        media: args.media.map((file) => ({ ...file })),
        generated: args.generated.map((file) => ({ ...file })),
        labels: { ...(args.labels ?? {}) },
        buildLog: undefined,
        uploaded: undefined,
      },
      opts,
    );
  }
}
