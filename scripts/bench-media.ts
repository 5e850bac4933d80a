/**
 * `npm run bench:media [GiB]`: a root image of GiB (default 8) gigabytes, sparse, streamed into
 * a boot-tree volume by the BootImage build provider, locally and through an ssh:// Docker host
 * (a real sshd on the loopback of a namespace of its own), each beside `docker cp` of the same
 * file into a volume over the same transport. Reports wall time and the provider process's peak
 * resident memory. Everything it creates is removed at the end, also when it fails.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { bootImageBuildProvider, type BootImageBuildInputs } from "../components/boot-image/build-provider";
import { startTestSshHost, type TestSshHost } from "../test/support/sshd";

const BASE_IMAGE = process.env.NETBOOT_LAB_BASE_IMAGE ?? "local/debian:bookworm";
const LABEL = "io.netboot-lab.bench";

/** Child mode: one upload through the provider, reporting its time and this process's peak memory. */
async function upload(inputs: BootImageBuildInputs): Promise<void> {
  const started = process.hrtime.bigint();
  await bootImageBuildProvider.create(inputs);
  process.stdout.write(JSON.stringify({ seconds: Number(process.hrtime.bigint() - started) / 1e9, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

async function timed(command: string, args: string[], env?: Record<string, string>): Promise<number> {
  const started = process.hrtime.bigint();
  await execa(command, args, { env });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function main(gib: number): Promise<void> {
  const id = Math.random().toString(16).slice(2, 8);
  const dir = mkdtempSync(join(tmpdir(), "nbb-media-"));
  const volumes: string[] = [];
  const containers: string[] = [];
  let ssh: TestSshHost | undefined;
  try {
    const file = join(dir, "NetInstall.dmg");
    const size = gib * 1024 ** 3;
    execFileSync("truncate", ["-s", String(size), file]);
    // The first read of a new sparse file fills the page cache with zeroed pages (about 25 s of system time for 8 GiB here):
    // read it once first, so whichever upload runs first does not pay for it.
    execFileSync("cat", [file], { stdio: ["ignore", "ignore", "inherit"] });
    const volume = async (name: string) => {
      volumes.push(name);
      await execa("docker", ["volume", "create", "--label", `${LABEL}=${id}`, name]);
      return name;
    };
    const inputs = (bootTreeVolume: string, dockerHost = "", sshOptions: string[] = []): BootImageBuildInputs => ({
      dockerHost,
      sshOptions,
      builderImage: BASE_IMAGE,
      bootTreeVolume,
      bootTreePath: "/srv/boot",
      mediaPath: "/srv/boot/.netboot-lab-media",
      imageName: "bench",
      // The upload is what is measured: the "build" only checks the file arrived whole.
      command: ["sh", "-c", `test "$(stat -c %s /srv/boot/.netboot-lab-media/bench/0/NetInstall.dmg)" = ${size}`],
      media: [{ localPath: file, containerPath: "/srv/boot/.netboot-lab-media/bench/0/NetInstall.dmg", sha256: "0", size }],
      generated: [],
      contentHash: "bench",
      labels: { [LABEL]: id },
    });
    const runUpload = async (values: BootImageBuildInputs, namespace?: string) => {
      const argv = [process.execPath, __filename, "--upload", JSON.stringify(values)];
      const result = namespace ? await execa("ip", ["netns", "exec", namespace, ...argv]) : await execa(argv[0]!, argv.slice(1));
      return JSON.parse(String(result.stdout)) as { seconds: number; maxRssMiB: number };
    };
    const dockerCp = async (target: string, env?: Record<string, string>, host?: string) => {
      const hostArgs = host ? ["-H", host] : [];
      const container = (
        await execa("docker", [...hostArgs, "create", "--label", `${LABEL}=${id}`, "--network", "none", "-v", `${target}:/tree`, BASE_IMAGE, "true"], { env })
      ).stdout.trim();
      containers.push(container);
      return timed("docker", [...hostArgs, "cp", file, `${container}:/tree/NetInstall.dmg`], env);
    };

    const local = await runUpload(inputs(await volume(`nbb${id}-local`)));
    const localCp = await dockerCp(await volume(`nbb${id}-local-cp`));
    console.log(`\n${gib} GiB root image into a volume\n\n| transport | provider | provider peak RSS | docker cp | ratio |\n|---|---|---|---|---|`);
    console.log(
      `| local socket | ${local.seconds.toFixed(1)} s | ${local.maxRssMiB.toFixed(0)} MiB | ${localCp.toFixed(1)} s | ${(local.seconds / localCp).toFixed(2)}× |`,
    );

    ssh = await startTestSshHost();
    const remote = await runUpload(inputs(await volume(`nbb${id}-ssh`), ssh.dockerHost, [...ssh.sshOptions]), ssh.namespace);
    // The docker CLI calls `ssh` with no options of ours: a wrapper first on PATH adds them.
    writeFileSync(join(dir, "ssh"), `#!/bin/sh\nexec /usr/bin/ssh ${ssh.sshOptions.map((option) => `'${option}'`).join(" ")} "$@"\n`, { mode: 0o755 });
    const env = { PATH: `${dir}:${process.env.PATH}` };
    const sshVolume = await volume(`nbb${id}-ssh-cp`);
    const remoteCp = await execa("ip", ["netns", "exec", ssh.namespace, process.execPath, __filename, "--docker-cp", ssh.dockerHost, sshVolume, file, id], {
      env: { ...process.env, ...env },
    });
    const remoteCpSeconds = Number(String(remoteCp.stdout).trim());
    console.log(
      `| ssh:// (dial-stdio) | ${remote.seconds.toFixed(1)} s | ${remote.maxRssMiB.toFixed(0)} MiB | ${remoteCpSeconds.toFixed(1)} s | ${(remote.seconds / remoteCpSeconds).toFixed(2)}× |`,
    );
  } finally {
    await ssh?.stop();
    for (const container of containers) await execa("docker", ["rm", "-f", container], { reject: false });
    const leftovers = (await execa("docker", ["ps", "-aq", "--filter", `label=${LABEL}`], { reject: false })).stdout.split("\n").filter(Boolean);
    if (leftovers.length) await execa("docker", ["rm", "-f", ...leftovers], { reject: false });
    for (const name of volumes) await execa("docker", ["volume", "rm", "-f", name], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Child mode inside the ssh host's namespace: `docker -H ssh://… cp` of the file into a volume, printing the seconds it took. */
async function dockerCpOverSsh(host: string, target: string, file: string, id: string): Promise<void> {
  const container = (
    await execa("docker", ["-H", host, "create", "--label", `${LABEL}=${id}`, "--network", "none", "-v", `${target}:/tree`, BASE_IMAGE, "true"])
  ).stdout.trim();
  try {
    process.stdout.write(String(await timed("docker", ["-H", host, "cp", file, `${container}:/tree/NetInstall.dmg`])));
  } finally {
    await execa("docker", ["-H", host, "rm", "-f", container], { reject: false });
  }
}

const [mode, ...rest] = process.argv.slice(2);
const work =
  mode === "--upload"
    ? upload(JSON.parse(rest[0]!))
    : mode === "--docker-cp"
      ? dockerCpOverSsh(rest[0]!, rest[1]!, rest[2]!, rest[3]!)
      : main(Number(mode ?? 8));
work.catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
