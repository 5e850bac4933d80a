export * from "./client";
export { QemuProcess, type ProcessIdentity, type QemuProcessArgs } from "./qemu-process";
export { VmxBundle, type VmxBundleArgs } from "./vmx-bundle";
