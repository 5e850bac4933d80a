import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { builderContext, builderImageName } from "../../lib/boot-image/builder-image";
import { DEFAULT_CACHE_DIR } from "../../lib/boot-image/upload-cache";
import { runProbe, type ProbeInput } from "../../lib/check/probe";
import { formatCheckReport, type CheckReport } from "../../lib/check/report";
import { LAB_LABEL, ROLE_LABEL } from "../../lib/lab-names";
import { probeAddress, validateLab } from "../../lib/model";
import { BOOT_TREE_DIR } from "../../lib/servers";
import { DHCPD_CONF_PATH } from "../../lib/servers/dhcpd";
import { CliError, type Command } from "../cli-error";
import { containerStates, LAB_OPTIONS, openLabFromArgs, packageRoot, requireDeployed, type DeployedLab } from "../lab-docker";

const USAGE = "check --stack NAME [--client NAME] [--json] [--config FILE] [--project DIR]";

/** Exit status when a check failed (0: all passed, 2: bad usage or nothing deployed). */
export const EXIT_CHECK_FAILED = 1;

const PROBE_INTERFACE = "eth0";
const DHCP_TIMEOUT_MS = 4000;

const HELP = `usage: netboot-lab ${USAGE}

Proves a deployed lab serves every declared client: run it after pulumi up. A short-lived
probe container joins the lab's Docker network (bridge or macvlan, on the stack's docker.host)
and, for each client, asks dhcpd as the client's firmware and loaders do (PXE by architecture,
iPXE, NetBSD's second request, BOOTP for reserved clients) and compares every answer with the
stack: address, next-server, boot file, root path. It then reads each boot file over TFTP and
HTTP (the iPXE script and the kernel and initrd it names) and compares them with what the
BootImage build wrote, lists the NFS root over NFSv3 and NFSv4, and checks that a darwin-nbi
image's mkext holds a driver for the client's NIC. An undeclared MAC must get no answer unless
the stack allows unknown clients. The probe only sends DHCPDISCOVER and, for reserved
clients, BOOTP requests: no lease of a real client changes.

  --stack NAME      the stack (its file is stacks/Pulumi.NAME.yaml)
  --client NAME     check this client only
  --json            print the report as JSON (see README.md, "When a boot fails")
  --config FILE     read the stack config from FILE instead of stacks/Pulumi.NAME.yaml
  --project DIR     the project folder holding stacks/ (default .)

Exit status: 0 every check passed, ${EXIT_CHECK_FAILED} a check failed, 2 bad usage or the stack is not deployed.
`;

/** The probe runs in the builder image (it carries this CLI and the NFS tools); built here when missing. */
async function probeImage(deployed: DeployedLab): Promise<string> {
  const context = builderContext(packageRoot(), deployed.lab.docker.baseImage, DEFAULT_CACHE_DIR);
  const image = builderImageName(context);
  if ((await deployed.docker(["image", "inspect", "--format", "{{.Id}}", image], { reject: false })).exitCode === 0) return image;
  process.stderr.write(`netboot-lab check: building the probe image ${image} (the BootImage builder image)…\n`);
  await deployed.docker(["build", "--quiet", "--build-arg", `BASE_IMAGE=${deployed.lab.docker.baseImage}`, "--tag", image, context.dir]);
  return image;
}

async function runningDhcpdConf(deployed: DeployedLab, running: boolean): Promise<string | undefined> {
  if (!running) return undefined;
  const result = await deployed.docker(["exec", deployed.names.container("dhcpd"), "cat", DHCPD_CONF_PATH], { reject: false });
  return result.exitCode === 0 ? result.stdout : undefined;
}

async function checkDeployedLab(deployed: DeployedLab, client: string | undefined): Promise<CheckReport> {
  await requireDeployed(deployed);
  const containers = await containerStates(deployed);
  const input: ProbeInput = {
    stack: deployed.stack,
    labConfig: deployed.labConfig,
    ...(client ? { client } : {}),
    containers,
    runningDhcpdConf: await runningDhcpdConf(deployed, containers.dhcpd?.running ?? false),
  };
  const image = await probeImage(deployed);
  const { names } = deployed;
  const result = await deployed.docker(
    [
      "run",
      "--rm",
      "--interactive",
      "--name",
      `${names.prefix}-check-${randomBytes(3).toString("hex")}`,
      "--label",
      `${LAB_LABEL}=${names.prefix}`,
      "--label",
      `${ROLE_LABEL}=check`,
      "--network",
      names.network,
      "--ip",
      probeAddress(deployed.lab),
      // Port 68 and, for BOOTP, the client's MAC on the probe's own interface; nothing else.
      "--cap-drop",
      "ALL",
      "--cap-add",
      "NET_BIND_SERVICE",
      "--cap-add",
      "NET_ADMIN",
      "--mount",
      `type=volume,source=${names.bootTreeVolume},target=${BOOT_TREE_DIR},readonly`,
      image,
      "check",
      "--probe",
    ],
    { input: JSON.stringify(input), reject: false },
  );
  if (result.exitCode !== 0 && result.exitCode !== EXIT_CHECK_FAILED) {
    throw new CliError(`check: the probe container failed (exit ${result.exitCode}):\n${result.stderr.trim() || result.stdout.trim()}`);
  }
  return JSON.parse(result.stdout) as CheckReport;
}

/** Inside the probe container: the input on stdin, the report as JSON on stdout. */
async function probeMode(): Promise<number> {
  const input = JSON.parse(readFileSync(0, "utf8")) as ProbeInput;
  const lab = validateLab(input.labConfig, `stack ${input.stack}`);
  const report = await runProbe(lab, input, { treeDir: BOOT_TREE_DIR, interfaceName: PROBE_INTERFACE, dhcpTimeoutMs: DHCP_TIMEOUT_MS });
  process.stdout.write(`${JSON.stringify(report)}\n`);
  return report.ok ? 0 : EXIT_CHECK_FAILED;
}

export const checkCommand: Command = {
  usage: USAGE,
  summary: `prove a deployed lab serves every client: DHCP answers, boot files over TFTP/HTTP, NFS root, NIC driver (exit ${EXIT_CHECK_FAILED}: a check failed)`,
  handlesHelp: true,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { ...LAB_OPTIONS, json: { type: "boolean", default: false }, probe: { type: "boolean", default: false } },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (values.probe) return probeMode();
    const { deployed } = openLabFromArgs("check", USAGE, values);
    const report = await checkDeployedLab(deployed, values.client);
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheckReport(report));
    return report.ok ? 0 : EXIT_CHECK_FAILED;
  },
};
