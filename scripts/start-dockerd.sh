#!/usr/bin/env bash
# Starts a Docker engine when none answers (machines without systemd, such as CI).
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
echo "setup: starting dockerd"
nohup dockerd >/var/log/netboot-lab-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
echo "setup: dockerd did not start; see /var/log/netboot-lab-dockerd.log" >&2
tail -20 /var/log/netboot-lab-dockerd.log >&2
exit 1
