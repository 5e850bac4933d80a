/**
 * BootImageBuild: one boot image built into the boot-tree volume, as a Pulumi resource whose
 * lifecycle is the image's: created and updated by running the builder (media streamed in,
 * never held in memory), deleted by removing the image's folder from the tree.
 */
import * as pulumi from "@pulumi/pulumi";
import { bootImageBuildProvider, type GeneratedInput, type MediaInput } from "./build-provider";

export interface BootImageBuildArgs {
  /** Docker host the builder runs on (`ssh://user@host`); default DOCKER_HOST, else the local engine, as the docker provider. */
  readonly dockerHost?: pulumi.Input<string | undefined>;
  /** Extra `ssh` arguments for an ssh:// host. Default: none (your ssh config applies, as for the docker CLI). */
  readonly sshOptions?: pulumi.Input<string[]>;
  readonly builderImage: pulumi.Input<string>;
  readonly bootTreeVolume: pulumi.Input<string>;
  /** Where the builder mounts the volume. */
  readonly bootTreePath: string;
  /** The image's folder in the tree. */
  readonly imageName: string;
  readonly command: readonly string[];
  readonly media: readonly MediaInput[];
  readonly generated: readonly GeneratedInput[];
  readonly contentHash: string;
  /** Labels of the builder's one-shot containers. Default: none. */
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
