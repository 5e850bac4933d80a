import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import { runProbe, type ProbeInput } from "../../lib/check/probe";
import { formatCheckReport, type CheckReport } from "../../lib/check/report";
import { probeAddress, validateLab } from "../../lib/model";
import { BOOT_TREE_DIR, dhcpServerFacts } from "../../lib/servers";
import { CliError, type Command } from "../cli-error";
import {
  containerStates,
  LAB_OPTIONS,
  openLabFromArgs,
  PROBE_FOLDER,
  probeImage,
  readContainerFile,
  requireDeployed,
  runLabProbe,
  type DeployedLab,
} from "../lab-docker";

const USAGE = "check --stack NAME [--client NAME] [--json] [--config FILE] [--project DIR]";

/** Exit status when a check failed (0: all passed, 2: bad usage or nothing deployed). */
export const EXIT_CHECK_FAILED = 1;

const PROBE_INTERFACE = "eth0";
const DHCP_TIMEOUT_MS = 4000;

const HELP = `usage: netboot-lab ${USAGE}

Proves a deployed lab serves every declared client: run it after pulumi up. A short-lived
probe container joins the lab's Docker network (bridge or macvlan, on the stack's docker.host)
and, for each client, asks dhcpd (or Kea) as the client's firmware and loaders do (PXE by architecture,
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

async function runningDhcpdConf(deployed: DeployedLab, running: boolean): Promise<string | undefined> {
  if (!running) return undefined;
  const server = dhcpServerFacts(deployed.lab);
  return readContainerFile(deployed, deployed.names.container(server.role), server.confPath);
}

/** Keeps what is written to it as it is written, so all of it is there once the writer has ended. */
function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

async function checkDeployedLab(deployed: DeployedLab, client: string | undefined): Promise<CheckReport> {
  await requireDeployed(deployed);
  const containers = await containerStates(deployed);
  const input: ProbeInput = {
    stack: deployed.stack,
    labConfig: deployed.labConfig,
    ...(client ? { client } : {}),
    containers,
    runningDhcpdConf: await runningDhcpdConf(deployed, containers[dhcpServerFacts(deployed.lab).role]?.running ?? false),
  };
  const [stdout, stderr] = [collector(), collector()];
  const exitCode = await runLabProbe(
    deployed,
    {
      role: "check",
      image: await probeImage(deployed, "check"),
      address: probeAddress(deployed.lab),
      // Port 68 and, for BOOTP, the client's MAC on the probe's own interface; nothing else.
      capabilities: ["NET_BIND_SERVICE", "NET_ADMIN"],
      mounts: [{ Type: "volume", Source: deployed.names.bootTreeVolume, Target: BOOT_TREE_DIR, ReadOnly: true }],
      files: { "probe-input.json": JSON.stringify(input) },
      cliArgs: ["check", "--probe", `${PROBE_FOLDER}/probe-input.json`],
    },
    stdout.stream,
    stderr.stream,
  );
  if (exitCode !== 0 && exitCode !== EXIT_CHECK_FAILED) {
    throw new CliError(`check: the probe container failed (exit ${exitCode}):\n${stderr.text().trim() || stdout.text().trim()}`);
  }
  return JSON.parse(stdout.text()) as CheckReport;
}

/** Inside the probe container: the input in the file `inputPath`, the report as JSON on stdout. */
async function probeMode(inputPath: string): Promise<number> {
  const input = JSON.parse(readFileSync(inputPath, "utf8")) as ProbeInput;
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
      // --probe FILE: what the probe container runs (the input check hands it).
      options: { ...LAB_OPTIONS, json: { type: "boolean", default: false }, probe: { type: "string" } },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (values.probe !== undefined) return probeMode(values.probe);
    const { deployed } = openLabFromArgs("check", USAGE, values);
    const report = await checkDeployedLab(deployed, values.client);
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheckReport(report));
    return report.ok ? 0 : EXIT_CHECK_FAILED;
  },
};
