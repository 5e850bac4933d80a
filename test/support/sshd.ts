/**
 * A real OpenSSH server standing in for a remote Docker host (`docker.host: ssh://…`): it runs
 * in a network namespace of its own, listening on that namespace's loopback only, with keys
 * made for the run. Clients run inside the same namespace; their `docker system dial-stdio`
 * session reaches this machine's engine through its socket, exactly as on a remote host.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { TEST_PREFIX } from "./netns";
import { testRunId } from "./test-run";

export interface TestSshHost {
  /** Network namespace to run ssh clients in. */
  readonly namespace: string;
  /** `ssh://root@127.0.0.1:<port>` */
  readonly dockerHost: string;
  /** ssh arguments that use the run's key and known-hosts file and nothing of the user's ~/.ssh. */
  readonly sshOptions: readonly string[];
  /** A folder whose `ssh` runs the real one inside the namespace: first on PATH, a process outside it reaches the host. */
  readonly sshClientDir: string;
  stop(): Promise<void>;
}

const PORT = 2222;

async function waitForPort(namespace: string, port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const listening = await execa("ip", ["netns", "exec", namespace, "ss", "-ltnH", `sport = :${port}`], { reject: false });
    if (String(listening.stdout).trim()) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  throw new Error(`sshd in ${namespace} did not listen on port ${port}`);
}

export async function startTestSshHost(): Promise<TestSshHost> {
  const namespace = `${TEST_PREFIX}-ns-${testRunId()}-${randomBytes(3).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "nbt-sshd-"));
  let sshd: ResultPromise | undefined;
  const stop = async () => {
    if (sshd?.pid) process.kill(sshd.pid, "SIGTERM");
    await sshd?.catch(() => undefined);
    await execa("ip", ["netns", "del", namespace], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await execa("ip", ["netns", "add", namespace]);
    await execa("ip", ["-n", namespace, "link", "set", "lo", "up"]);
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "client_key")]);
    await execa("cp", [join(dir, "client_key.pub"), join(dir, "authorized_keys")]);
    const config = [
      `ListenAddress 127.0.0.1:${PORT}`,
      `HostKey ${join(dir, "host_key")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PidFile none",
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
    ];
    writeFileSync(join(dir, "sshd_config"), `${config.join("\n")}\n`);
    // sshd insists on its privilege-separation folder.
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    sshd = execa("ip", ["netns", "exec", namespace, "/usr/sbin/sshd", "-D", "-e", "-f", join(dir, "sshd_config")], { reject: false });
    mkdirSync(join(dir, "client"));
    writeFileSync(join(dir, "client", "ssh"), `#!/bin/sh\nexec ip netns exec ${namespace} /usr/bin/ssh "$@"\n`, { mode: 0o755 });
    await waitForPort(namespace, PORT);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    namespace,
    dockerHost: `ssh://root@127.0.0.1:${PORT}`,
    sshOptions: [
      "-F",
      "/dev/null",
      "-i",
      join(dir, "client_key"),
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      `UserKnownHostsFile=${join(dir, "known_hosts")}`,
      "-o",
      "StrictHostKeyChecking=accept-new",
    ],
    sshClientDir: join(dir, "client"),
    stop,
  };
}
