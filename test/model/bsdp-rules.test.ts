/** What the lab offers Macs over BSDP: each rule on a darwin-nbi image's listing names the field and the fix. */
import { describe, expect, it } from "vitest";
import { minimalLab, problemsOf } from "./fixtures";

const darwinImage = { name: "snow", kind: "darwin-nbi" as const, booter: "b", kernel: "k", extensions: ["E"], rootImage: "r.dmg" };

describe("BSDP listing rules", () => {
  it("rejects filters a Mac could never match and contradict each other", () => {
    const bsdp = { enabledMacAddresses: ["00:50:56:00:00:01", "nope"], disabledMacAddresses: ["00:50:56:00:00:01"], enabledSystemIdentifiers: ["Mac/Pro"] };
    expect(problemsOf(minimalLab({ clients: [], bootImages: [{ ...darwinImage, bsdp }] }))).toEqual([
      "bootImages[0].bsdp.enabledSystemIdentifiers[0]: \"Mac/Pro\" is not a Mac model identifier; write it as the Mac reports it, e.g. MacPro3,1 (no '/', not empty)",
      'bootImages[0].bsdp.enabledMacAddresses[1]: "nope" is not a MAC address; write six hex pairs separated by colons, e.g. 00:50:56:00:00:28',
      "bootImages[0].bsdp.disabledMacAddresses: 00:50:56:00:00:01 is also in enabledMacAddresses; list it in one of the two",
    ]);
  });

  it("rejects two images with one BSDP index, a name longer than the boot picker holds, and an unknown default", () => {
    const bootImages = [
      { ...darwinImage, index: 7 },
      { ...darwinImage, name: "leo", index: 7, description: "x".repeat(250) },
    ];
    expect(problemsOf(minimalLab({ clients: [], bootImages, bsdp: { defaultImage: "tiger" } }))).toEqual([
      'bootImages[1].index: BSDP index 7 is already used by bootImages[0] ("snow"); give each darwin-nbi image its own index (1-4095 server-local, 4096-65535 shared)',
      "bootImages[1].description: is 250 bytes of UTF-8; the boot picker's BSDP image list holds at most 246, so shorten it",
      'bsdp.defaultImage: "tiger" is not a darwin-nbi boot image; use one of snow, leo',
    ]);
    expect(problemsOf(minimalLab({ bsdp: { defaultImage: "tiger" } }))).toEqual([
      'bsdp.defaultImage: "tiger" is not a darwin-nbi boot image; declare one under netboot-lab:bootImages',
    ]);
  });
});
