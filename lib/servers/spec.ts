/**
 * What one lab daemon needs from its container, as plain data. Each daemon module in this
 * folder renders its config and returns a spec; the NetbootServer component maps specs onto
 * @pulumi/docker containers, and the CLI writes the same files to disk. Keeping the spec
 * free of Pulumi lets tests check every capability and mount without an engine.
 */

/** A capability as the engine reports it in `HostConfig.CapAdd`. */
export type LinuxCapability = `CAP_${string}`;

/** The Docker volumes a daemon may mount. */
export type VolumeRole = "bootTree" | "leases";

export interface ConfigFile {
  /** Absolute path inside the container; also the path under `render --out DIR` (without the leading /etc/netboot-lab). */
  readonly path: string;
  readonly content: string;
  readonly executable?: boolean;
}

export interface ServerContainerSpec {
  /** Short role name; the container is named `${component}-${role}`. */
  readonly role: string;
  /** Overrides the image's entrypoint; argv form. */
  readonly entrypoint: readonly string[];
  /** Arguments after the entrypoint. */
  readonly command: readonly string[];
  /** Files uploaded into the container before it starts (rendered configs). */
  readonly files: readonly ConfigFile[];
  /**
   * Everything else is dropped; each capability here is explained in `why`. Named as the Docker
   * engine stores and reports them (`CAP_NET_RAW`, not `NET_RAW`): the docker provider reads
   * them back on every refresh, and any other spelling is a difference that replaces the container.
   */
  readonly capabilities: readonly LinuxCapability[];
  readonly securityOpts: readonly string[];
  /** Private tmpfs mounts (mount point → options), e.g. for /run. */
  readonly tmpfs: Readonly<Record<string, string>>;
  readonly mounts: readonly { readonly volume: VolumeRole; readonly target: string; readonly readOnly: boolean }[];
  /** Why each capability and security option is needed (shown in docs and tests). */
  readonly why: string;
  /**
   * `cli`: runs from the image that carries Node.js and the netboot-lab CLI's runtime part (the
   * lab's runtime image, lib/cli-images.ts), for a daemon the CLI itself implements. Default: the server image.
   */
  readonly image?: "cli";
}
