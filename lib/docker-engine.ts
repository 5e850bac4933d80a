/**
 * The few Docker Engine API calls the lab's keeper makes, over the engine's unix socket. Four
 * JSON requests do not need dockerode, whose ssh2 dependency would be bundled into the CLI.
 */
import { request } from "node:http";
import type { KeptContainer } from "./servers/keeper";

export class DockerEngine {
  constructor(private readonly socketPath: string) {}

  /** Every container on the engine, running or not, with the network mode the engine's list gives. */
  async networkModes(): Promise<{ id: string; networkMode: string }[]> {
    const listed = (await this.call("GET", "/containers/json?all=1")) as { Id: string; HostConfig?: { NetworkMode?: string } }[];
    return listed.map((container) => ({ id: container.Id, networkMode: container.HostConfig?.NetworkMode ?? "" }));
  }

  /** A container's name, network mode and state; undefined when the engine has no such container. */
  async inspect(idOrName: string): Promise<KeptContainer | undefined> {
    const found = (await this.call("GET", `/containers/${encodeURIComponent(idOrName)}/json`, [404])) as InspectAnswer | undefined;
    if (!found) return undefined;
    return {
      id: found.Id,
      name: found.Name.replace(/^\//, ""),
      networkMode: found.HostConfig.NetworkMode ?? "",
      status: found.State.Status,
      startedAt: found.State.StartedAt,
      error: found.State.Error ?? "",
    };
  }

  async start(id: string): Promise<void> {
    // 304: started already, by its restart policy or a user.
    await this.call("POST", `/containers/${encodeURIComponent(id)}/start`, [304]);
  }

  async restart(id: string): Promise<void> {
    await this.call("POST", `/containers/${encodeURIComponent(id)}/restart`);
  }

  /** One request; a status in `tolerated` answers undefined, any other failure throws the engine's message. */
  private call(method: string, path: string, tolerated: readonly number[] = []): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const sent = request({ socketPath: this.socketPath, method, path, headers: { Host: "docker" } }, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString("utf8");
          if (tolerated.includes(status)) resolve(undefined);
          else if (status >= 300) reject(new Error(`Docker ${method} ${path}: the engine answered ${status}: ${engineMessage(text)}`));
          else resolve(text ? (JSON.parse(text) as unknown) : undefined);
        });
      });
      sent.on("error", (error) => reject(new Error(`Docker ${method} ${path} through ${this.socketPath}: ${error.message}`)));
      sent.end();
    });
  }
}

interface InspectAnswer {
  readonly Id: string;
  readonly Name: string;
  readonly HostConfig: { readonly NetworkMode?: string };
  readonly State: { readonly Status: KeptContainer["status"]; readonly StartedAt: string; readonly Error?: string };
}

function engineMessage(text: string): string {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    return text.trim();
  }
}
