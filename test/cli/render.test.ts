import { execa } from "execa";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseVmx } from "../../lib/client/vmx";
import { runStack } from "../support/pulumi-harness";
import { stackWithVncPassword } from "../support/stack-files";

const workDir = mkdtempSync(join(tmpdir(), "nbl-render-"));
// The fusion stack as a user has it once its VNC password is set.
const fusion = stackWithVncPassword("fusion");
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  fusion.cleanup();
});

/** The CLI exactly as users run it: the bundled bin entry (global setup bundles it). */
function netbootLab(...args: string[]) {
  return execa("node", ["bin/netboot-lab.cjs", ...args], { reject: false });
}

describe("netboot-lab render", () => {
  it("writes the kvm stack's configs and a lab.json summary", async () => {
    const out = join(workDir, "kvm");
    const result = await netbootLab("render", "--stack", "kvm", "--out", out);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    for (const file of ["dhcpd/dhcpd.conf", "http/nginx.conf", "nfs/ganesha.conf", "lab.json"]) expect(existsSync(join(out, file)), file).toBe(true);

    const lab = JSON.parse(readFileSync(join(out, "lab.json"), "utf8"));
    expect(lab.network).toMatchObject({ subnet: "10.77.0.0/24", serverAddress: "10.77.0.2", bridge: "nblab0" });
    expect(lab.clients).toEqual([
      expect.objectContaining({
        name: "bios-ipxe",
        mac: "52:54:00:77:00:10",
        ipv4: "10.77.0.10",
        firmware: "bios",
        bootFile: "linux-ipxe/undionly.kpxe",
        rootPath: null,
      }),
      expect.objectContaining({
        name: "efi-grub",
        ipv4: "10.77.0.11",
        firmware: "efi-x64",
        bootFile: "linux-grub/boot/grub/x86_64-efi/core.efi",
        rootPath: "10.77.0.2:/netboot/linux-grub/root",
      }),
      expect.objectContaining({ name: "bios-pxelinux", ipv4: null, bootFile: "linux-pxelinux/pxelinux.0" }),
    ]);

    const check = await execa("dhcpd", ["-t", "-4", "-cf", join(out, "dhcpd/dhcpd.conf")], { reject: false });
    expect(check.exitCode).toBe(0);
  });

  it("writes Kea's config beside dhcpd.conf, which kea-dhcp4 -t accepts, and says what Kea does not do", async () => {
    const out = join(workDir, "kvm-kea");
    const result = await netbootLab("render", "--stack", "kvm", "--out", out);
    expect(result.exitCode).toBe(0);
    expect(existsSync(join(out, "dhcpd/dhcpd.conf"))).toBe(true);
    const kea = JSON.parse(readFileSync(join(out, "kea/kea-dhcp4.conf"), "utf8"));
    expect(kea.Dhcp4).toMatchObject({ "match-client-id": false, "host-reservation-identifiers": ["hw-address"] });
    const check = await execa("kea-dhcp4", ["-t", join(out, "kea/kea-dhcp4.conf")], { reject: false, all: true });
    expect(check.exitCode, check.all).toBe(0);
    expect(result.stdout).toContain("not on Kea (kea/kea-dhcp4.conf):\n  - BOOTP requests without the RFC 1048 magic cookie (plain RFC 951) get no answer");
    // bios-pxelinux takes a pool address.
    expect(result.stdout).toContain("  - A pool client is offered the next free address on each DISCOVER");
  });

  it("writes each kvm client's clients/<name>.qemu.sh: exactly the command its QemuProcess runs", async () => {
    const out = join(workDir, "kvm-clients");
    expect((await netbootLab("render", "--stack", "kvm", "--out", out)).exitCode).toBe(0);
    const { resources } = await runStack("kvm");
    // Stand-ins for ip, mkdir (the run folder in the project) and QEMU on PATH: the script runs as written and QEMU's argv is recorded.
    const bin = join(workDir, "bin");
    mkdirSync(bin, { recursive: true });
    for (const tool of ["ip", "mkdir"]) writeFileSync(join(bin, tool), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    writeFileSync(join(bin, "qemu-system-x86_64"), `#!/bin/sh\nprintf '%s\\0' "$0" "$@" >"${join(workDir, "argv")}"\n`, { mode: 0o755 });
    for (const name of ["bios-ipxe", "efi-grub", "bios-pxelinux"]) {
      const script = join(out, "clients", `${name}.qemu.sh`);
      expect(statSync(script).mode & 0o111, name).not.toBe(0);
      await execa("sh", [script], { env: { PATH: `${bin}:${process.env.PATH}` } });
      const argv = readFileSync(join(workDir, "argv"), "utf8").split("\0").slice(1, -1);
      const qemu = resources.find((resource) => resource.name === `nbl-kvm-${name}-qemu`)!;
      expect(argv, name).toEqual(qemu.inputs.args);
    }
    const lab = JSON.parse(readFileSync(join(out, "lab.json"), "utf8"));
    expect(lab.clients.map((client: { platform: string; nic: string; serialLog: string }) => [client.platform, client.nic, client.serialLog])).toEqual([
      ["qemu", "qemu-virtio", ".netboot-lab/qemu/bios-ipxe.serial.log"],
      ["qemu", "qemu-virtio", ".netboot-lab/qemu/efi-grub.serial.log"],
      ["qemu", "qemu-virtio", ".netboot-lab/qemu/bios-pxelinux.serial.log"],
    ]);
  });

  it("writes each fusion client's clients/<name>.vmx, without the VNC password", async () => {
    const out = join(workDir, "fusion-clients");
    expect((await netbootLab("render", "--stack", "fusion", "--project", fusion.dir, "--out", out)).exitCode).toBe(0);
    const vmx = parseVmx(readFileSync(join(out, "clients", "snowleopard-server.vmx"), "utf8"));
    expect(vmx.get("ethernet0.address")).toBe("00:50:56:00:00:28");
    expect(vmx.get("guestOS")).toBe("darwin10-64");
    expect([...vmx.keys()].filter((key) => /password/i.test(key))).toEqual([]);
    expect(parseVmx(readFileSync(join(out, "clients", "netbsd5.vmx"), "utf8")).get("ethernet0.virtualDev")).toBe("vlance");
  });

  it("writes the fusion stack's Darwin boot file and root path", async () => {
    const out = join(workDir, "fusion");
    expect((await netbootLab("render", "--stack", "fusion", "--project", fusion.dir, "--out", out)).exitCode).toBe(0);
    const lab = JSON.parse(readFileSync(join(out, "lab.json"), "utf8"));
    expect(lab.network).toMatchObject({ serverAddress: "10.0.0.28", mode: "macvlan", bridge: null, parentInterface: "eth1" });
    expect(lab.clients[0]).toMatchObject({
      name: "snowleopard-server",
      firmware: "efi-x64",
      nic: "vmware-e1000",
      bootFile: "snow-leopard/NetBootSP0.nbi/i386/booter",
      rootPath: "nfs:10.0.0.28:/netboot:snow-leopard/NetBootSP0.nbi/NetInstall.dmg",
    });
  });

  it("exits non-zero with the validation message for an invalid stack", async () => {
    const project = join(workDir, "bad-project");
    mkdirSync(join(project, "stacks"), { recursive: true });
    writeFileSync(
      join(project, "stacks", "Pulumi.bad.yaml"),
      [
        "config:",
        "  netboot-lab:network:",
        "    subnet: 10.77.0.0/24",
        "  netboot-lab:clients:",
        "    - name: vm1",
        "      mac: 52:54:00:00:00:0g",
        "      bootImage: missing",
        "",
      ].join("\n"),
    );
    const result = await netbootLab("render", "--stack", "bad", "--project", project, "--out", join(workDir, "bad"));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("Invalid lab configuration in");
    expect(result.stderr).toContain('clients[0].mac: "52:54:00:00:00:0g" is not a MAC address');
    expect(existsSync(join(workDir, "bad"))).toBe(false);
  });

  it("renders a stack whose keys were set with `pulumi config set` (JSON strings), and reports an encrypted one", async () => {
    const project = join(workDir, "config-set-project");
    mkdirSync(join(project, "stacks"), { recursive: true });
    writeFileSync(
      join(project, "stacks", "Pulumi.set.yaml"),
      ["config:", `  netboot-lab:network: '{"subnet": "10.77.0.0/24"}'`, `  netboot-lab:docker: '{"baseImage": "local/debian:bookworm"}'`, ""].join("\n"),
    );
    const rendered = await netbootLab("render", "--stack", "set", "--project", project, "--out", join(workDir, "set"));
    expect(rendered.stderr).toBe("");
    expect(JSON.parse(readFileSync(join(workDir, "set", "lab.json"), "utf8")).network).toMatchObject({ subnet: "10.77.0.0/24", serverAddress: "10.77.0.2" });

    writeFileSync(
      join(project, "stacks", "Pulumi.secret.yaml"),
      ["config:", "  netboot-lab:network:", "    subnet: 10.77.0.0/24", "  netboot-lab:docker:", "    host:", "      secure: v1:abc", ""].join("\n"),
    );
    const secret = await netbootLab("render", "--stack", "secret", "--project", project, "--out", join(workDir, "secret"));
    expect(secret.exitCode).toBe(1);
    expect(secret.stderr).toContain("docker.host: is an encrypted value (secure:), which only the Pulumi CLI decrypts");
  });

  it("refuses an unknown netboot-lab key and a docker provider key, as the program does (test/model/stack-config.test.ts)", async () => {
    const project = join(workDir, "foreign-keys-project");
    mkdirSync(join(project, "stacks"), { recursive: true });
    writeFileSync(
      join(project, "stacks", "Pulumi.keys.yaml"),
      ["config:", "  netboot-lab:network:", "    subnet: 10.77.0.0/24", "  netboot-lab:client: []", "  docker:host: ssh://lab@elsewhere", ""].join("\n"),
    );
    const result = await netbootLab("render", "--stack", "keys", "--project", project, "--out", join(workDir, "keys"));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("  - netboot-lab:client: unknown key; the lab reads netboot-lab:network, netboot-lab:mediaDir,");
    expect(result.stderr).toContain(
      "  - docker:host: is a setting of Pulumi's docker provider, which the lab does not take: its boot-image builds reach Docker on a connection of their own, so the lab would end up on two engines; name the lab's Docker host with netboot-lab:docker.host (netboot-lab:docker: {host: ssh://user@host}) and remove docker:host",
    );
  });

  it("names a missing stack file", async () => {
    const result = await netbootLab("render", "--stack", "nope", "--out", join(workDir, "nope"));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/cannot read .*stacks\/Pulumi\.nope\.yaml: file not found/);
  });
});

/** What a file-system failure looks like to the user: one line on stderr (execa drops its newline), no stack trace. */
function expectOneLine(result: { stderr: string; exitCode?: number }, line: string, exitCode: number) {
  expect(result.stderr).toBe(line);
  expect(result.exitCode).toBe(exitCode);
}

describe("netboot-lab render: where it cannot write", () => {
  const fileInTheWay = join(workDir, "a-file");
  writeFileSync(fileInTheWay, "not a folder\n");

  it("refuses an --out below a file before writing anything", async () => {
    const result = await netbootLab("render", "--stack", "kvm", "--out", join(fileInTheWay, "x"));
    expectOneLine(result, `netboot-lab: render: --out ${join(fileInTheWay, "x")}: ${fileInTheWay} is a file, not a folder; choose another folder`, 2);
  });

  it("refuses /proc and /sys at once, where mkdir -p would hang or change kernel settings", async () => {
    for (const [out, fs] of [
      ["/proc/netboot-lab-out", "proc"],
      ["/sys/netboot-lab-out/x", "sysfs"],
    ]) {
      const result = await execa("node", ["bin/netboot-lab.cjs", "render", "--stack", "kvm", "--out", out!], { reject: false, timeout: 30_000 });
      expect(result.timedOut, out).toBe(false);
      expectOneLine(
        result,
        `netboot-lab: render: --out ${out}: ${out!.split("/").slice(0, 2).join("/")} is on the kernel's ${fs} file system, which holds no files of yours; choose another folder`,
        2,
      );
    }
  });

  it("reports a failed write as one line naming the path and the cause", async () => {
    const out = join(workDir, "blocked");
    mkdirSync(join(out, "lab.json"), { recursive: true });
    expectOneLine(
      await netbootLab("render", "--stack", "kvm", "--out", out),
      `netboot-lab: render: cannot open ${join(out, "lab.json")}: it is a folder (EISDIR)`,
      1,
    );
  });
});
