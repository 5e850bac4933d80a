#!/usr/bin/env bash
# Prepares a Debian 12 machine to run the whole test suite: the real daemons and clients
# the integration tests drive, a Docker engine, and the offline base image the lab's
# containers are built FROM. Idempotent: every step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  docker.io debootstrap iproute2 iptables
  isc-dhcp-server kea-dhcp4-server isc-dhcp-client tftpd-hpa tftp-hpa curl
  nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils
  qemu-system-x86 ipxe-qemu ipxe ovmf ovmf-ia32 tcpdump grub-efi-amd64-bin grub-pc-bin pxelinux syslinux-common syslinux-efi
  busybox-static cpio
  time gzip
  openssh-server openssh-client dnsmasq-base
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  # policy-rc.d keeps Debian from starting dhcpd/tftpd/ganesha on the host's own interfaces.
  if [ ! -x /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

bash scripts/start-dockerd.sh
bash scripts/build-offline-base-image.sh "${NETBOOT_LAB_BASE_IMAGE:-local/debian:bookworm}"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
