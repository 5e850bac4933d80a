#!/usr/bin/env bash
# Builds a Debian bookworm base image without any registry, for air-gapped labs and CI.
# Usage: scripts/build-offline-base-image.sh [IMAGE]   (default local/debian:bookworm)
# Then set `netboot-lab:docker.baseImage` to IMAGE in the stack.
set -euo pipefail
image="${1:-local/debian:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if docker image inspect "$image" >/dev/null 2>&1; then exit 0; fi
command -v debootstrap >/dev/null || { echo "install debootstrap first (apt-get install debootstrap)" >&2; exit 1; }
root="$(mktemp -d /tmp/netboot-lab-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "setup: debootstrap bookworm into $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" >/tmp/netboot-lab-debootstrap.log 2>&1 || {
  tail -20 /tmp/netboot-lab-debootstrap.log >&2; exit 1; }
# The apt settings of this machine (mirror, proxy, snapshot validity) are what reach
# Debian from here; the image inherits them so `apt-get install` works inside builds.
cp -a /etc/apt/sources.list "$root/etc/apt/" 2>/dev/null || true
mkdir -p "$root/etc/apt/sources.list.d" "$root/etc/apt/apt.conf.d"
for f in /etc/apt/sources.list.d/debian.sources; do [ -f "$f" ] && cp "$f" "$root/etc/apt/sources.list.d/"; done
for f in /etc/apt/apt.conf.d/*; do grep -qiE 'proxy|Check-Valid|Check-Date' "$f" 2>/dev/null && cp "$f" "$root/etc/apt/apt.conf.d/"; done
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
tar -C "$root" -c . | docker import - "$image" >/dev/null
echo "setup: built $image"
