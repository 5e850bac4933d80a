/** nginx serving the boot tree read-only over HTTP (iPXE scripts and kernels, `rp=http://` roots, big payloads). */
import type { LabModel } from "../model/validate";
import type { ServerContainerSpec } from "./spec";
import { BOOT_TREE_DIR } from "./tftp";

export const NGINX_CONF_PATH = "/etc/netboot-lab/http/nginx.conf";
/** The access log line: client, request, status, body bytes sent, request time (s), user agent. */
export const NGINX_LOG_FORMAT = '$remote_addr "$request" $status $body_bytes_sent $request_time "$http_user_agent"';

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
    "  # One line per request with status and bytes, read by `netboot-lab watch` (lib/watch/nginx.ts).",
    `  log_format netboot_lab '${NGINX_LOG_FORMAT}';`,
    "  access_log /dev/stdout netboot_lab;",
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
    capabilities: ["CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN"],
    securityOpts: [],
    tmpfs: { "/run/nginx": "rw,mode=0755" },
    mounts: [{ volume: "bootTree", target: BOOT_TREE_DIR, readOnly: true }],
    why: "NET_BIND_SERVICE: the HTTP port; SETUID/SETGID: nginx workers run as www-data; CHOWN: nginx hands its temp folder on /run/nginx to them.",
  };
}
