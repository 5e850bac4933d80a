/** nginx serving the boot tree read-only over HTTP (iPXE scripts and kernels, `rp=http://` roots, big payloads). */
import type { LabModel } from "../model/validate";
import type { ServerContainerSpec } from "./spec";
import { BOOT_TREE_DIR } from "./tftp";

export const NGINX_CONF_PATH = "/etc/netboot-lab/http/nginx.conf";

export function renderNginxConf(lab: LabModel): string {
  return [
    "# Rendered by netboot-lab from the stack config; edit the stack file, not this one.",
    "daemon off;",
    "user www-data;",
    "worker_processes 1;",
    "error_log stderr warn;",
    "pid /run/nginx/nginx.pid;",
    "events { worker_connections 256; }",
    "http {",
    "  include /etc/nginx/mime.types;",
    "  default_type application/octet-stream;",
    "  access_log /dev/stdout;",
    "  client_body_temp_path /run/nginx/body;",
    "  sendfile on;",
    "  tcp_nopush on;",
    "  server {",
    `    listen ${lab.network.serverAddress}:${lab.servers.http.port};`,
    `    root ${BOOT_TREE_DIR};`,
    "    autoindex on;",
    "    location / {",
    "      # Read-only: anything but GET/HEAD is refused.",
    "      limit_except GET { deny all; }",
    "    }",
    "  }",
    "}",
    "",
  ].join("\n");
}

export function httpServer(lab: LabModel): ServerContainerSpec {
  return {
    role: "http",
    entrypoint: ["/usr/sbin/nginx"],
    command: ["-c", NGINX_CONF_PATH],
    files: [{ path: NGINX_CONF_PATH, content: renderNginxConf(lab) }],
    capabilities: ["NET_BIND_SERVICE", "SETUID", "SETGID", "CHOWN"],
    securityOpts: [],
    tmpfs: { "/run/nginx": "rw,mode=0755" },
    mounts: [{ volume: "bootTree", target: BOOT_TREE_DIR, readOnly: true }],
    why: "NET_BIND_SERVICE: the HTTP port; SETUID/SETGID: nginx workers run as www-data; CHOWN: nginx hands its temp folder on /run/nginx to them.",
  };
}
