/** PXE payloads for the lab's boot images: loader configs, the Linux initramfs, NetBSD's pxeboot, and the builder. */
export * from "./grub";
export * from "./initramfs";
export * from "./ipxe";
export * from "./linux";
export * from "./netbsd";
export * from "./pxelinux";
export * from "./signed-grub";
