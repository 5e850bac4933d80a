/**
 * The network cards VMware and QEMU emulate, by the model names of lib/model/schema.ts, with
 * the PCI identity a guest's drivers match against. Vendor and device IDs are from the
 * hypervisors' sources and documentation (docs/darwin-netboot.md, "Emulated NICs"); subsystem IDs
 * and revisions as the emulations report them (QEMU gives devices that set none its default
 * subsystem 1AF4:1100).
 */
import { NIC_MODELS, type NicModel } from "../model/schema";
import { DarwinInputError } from "../darwin/errors";
import { primaryDword, type PciDevice } from "./pci-device";

const ETHERNET_CLASS = 0x020000;

interface NicSpec extends PciDevice {
  readonly label: string;
}

const NICS: Record<NicModel, NicSpec> = {
  "qemu-e1000": {
    label: "QEMU e1000 (Intel 82540EM)",
    vendorId: 0x8086,
    deviceId: 0x100e,
    subsystemVendorId: 0x1af4,
    subsystemId: 0x1100,
    classCode: ETHERNET_CLASS,
    revision: 0x03,
  },
  "qemu-e1000e": {
    label: "QEMU e1000e (Intel 82574L)",
    vendorId: 0x8086,
    deviceId: 0x10d3,
    subsystemVendorId: 0x8086,
    subsystemId: 0x0000,
    classCode: ETHERNET_CLASS,
    revision: 0x00,
  },
  "qemu-rtl8139": {
    label: "QEMU rtl8139 (Realtek RTL8139C+)",
    vendorId: 0x10ec,
    deviceId: 0x8139,
    subsystemVendorId: 0x1af4,
    subsystemId: 0x1100,
    classCode: ETHERNET_CLASS,
    revision: 0x20,
  },
  // Transitional virtio-net, what QEMU presents in a conventional PCI slot (modern-only would be 1AF4:1041).
  "qemu-virtio": {
    label: "QEMU virtio-net (transitional)",
    vendorId: 0x1af4,
    deviceId: 0x1000,
    subsystemVendorId: 0x1af4,
    subsystemId: 0x0001,
    classCode: ETHERNET_CLASS,
    revision: 0x00,
  },
  "qemu-pcnet": {
    label: "QEMU pcnet (AMD PCnet-PCI II 79C970A)",
    vendorId: 0x1022,
    deviceId: 0x2000,
    subsystemVendorId: 0x0000,
    subsystemId: 0x0000,
    classCode: ETHERNET_CLASS,
    revision: 0x10,
  },
  "qemu-vmxnet3": {
    label: "QEMU vmxnet3",
    vendorId: 0x15ad,
    deviceId: 0x07b0,
    subsystemVendorId: 0x15ad,
    subsystemId: 0x07b0,
    classCode: ETHERNET_CLASS,
    revision: 0x01,
  },
  "vmware-e1000": {
    label: "VMware e1000 (Intel 82545EM)",
    vendorId: 0x8086,
    deviceId: 0x100f,
    subsystemVendorId: 0x15ad,
    subsystemId: 0x0750,
    classCode: ETHERNET_CLASS,
    revision: 0x01,
  },
  "vmware-e1000e": {
    label: "VMware e1000e (Intel 82574L)",
    vendorId: 0x8086,
    deviceId: 0x10d3,
    subsystemVendorId: 0x15ad,
    subsystemId: 0x07d0,
    classCode: ETHERNET_CLASS,
    revision: 0x01,
  },
  "vmware-vlance": {
    label: "VMware vlance (AMD PCnet32 79C970)",
    vendorId: 0x1022,
    deviceId: 0x2000,
    subsystemVendorId: 0x0000,
    subsystemId: 0x0000,
    classCode: ETHERNET_CLASS,
    revision: 0x10,
  },
  "vmware-vmxnet3": {
    label: "VMware vmxnet3",
    vendorId: 0x15ad,
    deviceId: 0x07b0,
    subsystemVendorId: 0x15ad,
    subsystemId: 0x07b0,
    classCode: ETHERNET_CLASS,
    revision: 0x01,
  },
};

/** A NIC model's PCI identity plus the forms people search driver plists for. */
export interface NicDescription extends PciDevice {
  readonly model: NicModel;
  readonly label: string;
  /** `VVVV:DDDD`, as lspci prints it. */
  readonly pciId: string;
  /** `SSSS:ssss` subsystem vendor and subsystem. */
  readonly subsystem: string;
  /** The IOPCIMatch item that names exactly this device, e.g. 0x100f8086. */
  readonly matchString: string;
}

function hex4(value: number): string {
  return value.toString(16).toUpperCase().padStart(4, "0");
}

export function isNicModel(name: string): name is NicModel {
  return (NIC_MODELS as readonly string[]).includes(name);
}

/** Resolves a model name given by a user; an unknown name is an error listing the known ones. */
export function nicModel(name: string): NicModel {
  if (!isNicModel(name)) throw new DarwinInputError(`unknown NIC model "${name}"; known models: ${NIC_MODELS.join(", ")}`);
  return name;
}

/** The PCI identity of an emulated NIC. */
export function describeNic(nic: NicModel): NicDescription {
  const spec = NICS[nic];
  return {
    model: nic,
    ...spec,
    pciId: `${hex4(spec.vendorId)}:${hex4(spec.deviceId)}`,
    subsystem: `${hex4(spec.subsystemVendorId)}:${hex4(spec.subsystemId)}`,
    matchString: `0x${primaryDword(spec).toString(16).padStart(8, "0")}`,
  };
}
