/**
 * A PCI function's identity as config space holds it, and the dwords drivers match against.
 * Every client platform's NIC has one; IOKit's matching rules live in lib/darwin/pci.ts.
 */
/** The config-space identity of a PCI function. */
export interface PciDevice {
  readonly vendorId: number;
  readonly deviceId: number;
  readonly subsystemVendorId: number;
  readonly subsystemId: number;
  /** 24-bit class code: class << 16 | subclass << 8 | programming interface. */
  readonly classCode: number;
  readonly revision: number;
}

/** Dword 0x00 as the CPU reads it: device ID in the high half, vendor ID in the low half. */
export function primaryDword(device: PciDevice): number {
  return ((device.deviceId << 16) | device.vendorId) >>> 0;
}

export function secondaryDword(device: PciDevice): number {
  return ((device.subsystemId << 16) | device.subsystemVendorId) >>> 0;
}

export function classDword(device: PciDevice): number {
  return ((device.classCode << 8) | device.revision) >>> 0;
}
