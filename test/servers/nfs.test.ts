import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { GANESHA_CONF_PATH, NFS_START_SCRIPT_PATH, nfsServer, renderGaneshaConf, renderNfsStartScript } from "../../lib/servers/nfs";

const input = { exportPath: "/netboot", clientSubnet: "10.77.0.0/24", serverAddress: "10.77.0.2" };

/** The config with its comments stripped, one setting per line, so expectations read like the file. */
function settings(conf: string): string[] {
  return conf
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
}

describe("ganesha.conf", () => {
  it("exports the boot tree read-only to the lab subnet only, at the export path for NFSv3 and NFSv4", () => {
    const exportBlock = settings(renderGaneshaConf(input)).join("\n").split("EXPORT {\n")[1];
    expect(exportBlock).toBe(
      [
        "Export_Id = 1;",
        "Path = /srv/netboot;",
        "Pseudo = /netboot;",
        "Protocols = 3, 4;",
        "SecType = sys;",
        "Squash = no_root_squash;",
        "Access_Type = None;",
        "FSAL {",
        "Name = VFS;",
        "}",
        "CLIENT {",
        "Clients = 10.77.0.0/24;",
        "Access_Type = RO;",
        "}",
        "}",
      ].join("\n"),
    );
  });

  it("lets NFSv3 clients mount the NFSv4 pseudo path, without lock manager or quota service", () => {
    const core = settings(renderGaneshaConf(input)).join("\n").split("NFS_CORE_PARAM {\n")[1]!.split("\n}")[0];
    expect(core).toBe(["Protocols = 3, 4;", "Mount_Path_Pseudo = true;", "Enable_NLM = false;", "Enable_RQUOTA = false;"].join("\n"));
  });

  it("serves NFSv4 right after a start and sends numeric owners", () => {
    const conf = settings(renderGaneshaConf(input));
    expect(conf).toContain("Graceless = true;");
    expect(conf).toContain("Only_Numeric_Owners = true;");
    expect(conf).toContain("Active_krb5 = false;");
  });

  it("follows the configured export path and subnet", () => {
    const conf = settings(renderGaneshaConf({ exportPath: "/labs/darwin", clientSubnet: "192.168.50.0/26" }));
    expect(conf).toContain("Pseudo = /labs/darwin;");
    expect(conf).toContain("Clients = 192.168.50.0/26;");
    expect(conf).toContain("Path = /srv/netboot;");
  });
});

describe("NFS start script", () => {
  const script = renderNfsStartScript("10.77.0.2");

  it("is valid sh", async () => {
    await expect(execa("sh", ["-n"], { input: script })).resolves.toMatchObject({ exitCode: 0 });
  });

  it("starts rpcbind on the lab address, checks that it answers, then runs ganesha in the foreground", () => {
    const commands = settings(script);
    expect(commands).toEqual([
      "set -e",
      "rpcbind -h 10.77.0.2",
      "if ! rpcinfo -p 10.77.0.2 >/dev/null; then",
      'echo "netboot-lab: rpcbind does not answer on 10.77.0.2 port 111, so NFSv3 clients could not mount; see the error above" >&2',
      "exit 1",
      "fi",
      `exec ganesha.nfsd -F -L STDERR -p /run/ganesha.pid -f ${GANESHA_CONF_PATH}`,
    ]);
  });
});

describe("NFS container spec", () => {
  const spec = nfsServer(input);

  it("runs the start script, uploaded executable beside ganesha.conf", () => {
    expect(spec.entrypoint).toEqual([NFS_START_SCRIPT_PATH]);
    expect(spec.command).toEqual([]);
    expect(spec.files.map((file) => [file.path, file.executable ?? false])).toEqual([
      ["/etc/netboot-lab/nfs/ganesha.conf", false],
      ["/etc/netboot-lab/nfs/start.sh", true],
    ]);
  });

  it("mounts the boot tree read-only", () => {
    expect(spec.mounts).toEqual([{ volume: "bootTree", target: "/srv/netboot", readOnly: true }]);
  });

  it("adds only the capabilities ganesha and rpcbind need, and explains each and the seccomp exception", () => {
    expect(spec.capabilities).toEqual(["CAP_DAC_READ_SEARCH", "CAP_SETUID", "CAP_SETGID", "CAP_NET_BIND_SERVICE"]);
    expect(spec.securityOpts).toEqual(["seccomp=unconfined"]);
    for (const reason of ["DAC_READ_SEARCH:", "SETUID/SETGID:", "NET_BIND_SERVICE:", "seccomp=unconfined:", "name_to_handle_at"]) {
      expect(spec.why).toContain(reason);
    }
  });

  it("keeps rpcbind's and ganesha's runtime files on a private tmpfs", () => {
    expect(spec.tmpfs).toEqual({ "/run": "rw,nosuid,nodev,noexec,mode=0755" });
  });
});
