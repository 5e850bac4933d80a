/**
 * The /init of the busybox initramfs the builder makes for Linux boot images: loads the
 * NIC modules, and the NFS ones when it mounts an NFS root (Debian's kernel has both as
 * modules and no IP autoconfiguration),
 * takes an address with udhcpc, optionally mounts the image's NFS root read-only, and
 * prints marker lines on the serial console that tests and users can wait for.
 */

/** Printed as `NETBOOT-LAB-BOOTED image=<name> ip=<address> secureboot=<0|1|unknown>` once the guest has an address. */
export const BOOTED_MARKER = "NETBOOT-LAB-BOOTED";
/** UEFI's global variable holding whether the firmware booted with Secure Boot on, as efivarfs names it. */
export const SECURE_BOOT_VARIABLE = "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";
/** Printed as `NETBOOT-LAB-NFS-ROOT <server:/path> <first line of the root's marker file>` after the NFS mount. */
export const NFS_ROOT_MARKER = "NETBOOT-LAB-NFS-ROOT";
/** /init's first line on the console: the kernel is done and the initramfs runs (a boot's timeline starts its initramfs stage here). */
export const INIT_STARTED_LINE = "netboot-lab: initramfs started";
/** Written into an image's `root/` folder so a guest can prove it read the NFS root. */
export const NFS_ROOT_MARKER_FILE = "netboot-lab-root.txt";
/** Kernel parameter: power the guest off after the markers instead of starting a shell. */
export const POWEROFF_PARAMETER = "netboot_lab.poweroff";
/** Where the initramfs lists the modules it loads at start (paths under /lib/modules), in load order. */
export const MODULE_LIST_PATH = "etc/netboot-lab/modules";
/** The modules loaded only before an NFS root is mounted, in load order. */
export const NFS_MODULE_LIST_PATH = "etc/netboot-lab/modules-nfs";
export const UDHCPC_SCRIPT_PATH = "etc/netboot-lab/udhcpc.script";
const LEASE_FILE = "/run/netboot-lab.lease";

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function renderInitScript(imageName: string): string {
  return `#!/bin/busybox sh
# netboot-lab initramfs of boot image ${imageName}.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /run /mnt

image=${shellQuote(imageName)}
say() { echo "netboot-lab: $*"; }
# Markers go to the console and, when the console is elsewhere, to the first serial port too.
mark() {
  echo "$*"
  # (arm64's console is ttyAMA0, and its ttyS0 node has no port behind it: a write there fails.)
  if ! grep -qE 'console=tty(S0|AMA0)' /proc/cmdline && [ -c /dev/ttyS0 ]; then { echo "$*" >/dev/ttyS0; } 2>/dev/null; fi
}
parameter() { tr ' ' '\\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -n 1; }

# The firmware's word (a BIOS has no Secure Boot; an EFI without the variable does not support it): its
# efivarfs file is 4 bytes of attributes, then 1 when on. unknown: efivarfs cannot be mounted.
secure_boot_state() {
  [ -d /sys/firmware/efi ] || { echo 0; return; }
  grep -q ' /sys/firmware/efi/efivars ' /proc/mounts || mount -t efivarfs efivarfs /sys/firmware/efi/efivars 2>/dev/null || { echo unknown; return; }
  variable=/sys/firmware/efi/efivars/${SECURE_BOOT_VARIABLE}
  if [ -e "$variable" ]; then tail -c 1 "$variable" | od -An -tu1 | tr -d ' '; else echo 0; fi
}

load_modules() {
  while read -r module; do
    # efivarfs refuses to load without EFI (a BIOS boot): nothing to report then.
    case "$module" in */efivarfs.ko*) [ -d /sys/firmware/efi ] || continue ;; esac
    insmod "/lib/modules/$module" 2>/dev/null || say "insmod $module failed"
  done <"$1"
}
echo "${INIT_STARTED_LINE}"
# The NIC drivers now; the NFS client only if the root is mounted over NFS.
load_modules /${MODULE_LIST_PATH}

interface=
for _ in $(seq 1 200); do
  for path in /sys/class/net/*; do
    name=\${path##*/}
    [ "$name" = lo ] || { interface=$name; break; }
  done
  [ -n "$interface" ] && break
  usleep 100000
done
ip link set lo up
if [ -z "$interface" ]; then
  say "no network interface appeared; the NIC's driver is not among the initramfs modules"
else
  ip link set "$interface" up
  # A DISCOVER sent before the link is up is lost and costs udhcpc's 2 s retry: wait for carrier.
  for _ in $(seq 1 100); do
    [ "$(cat "/sys/class/net/$interface/carrier" 2>/dev/null)" = 1 ] && break
    usleep 100000
  done
  if udhcpc -i "$interface" -n -q -t 10 -T 2 -O rootpath -s /${UDHCPC_SCRIPT_PATH}; then
    . ${LEASE_FILE}
    mark "${BOOTED_MARKER} image=$image ip=$ip secureboot=$(secure_boot_state)"
  else
    say "DHCP on $interface got no answer"
  fi
fi

nfsroot=$(parameter nfsroot)
[ -n "$nfsroot" ] || nfsroot=$rootpath
if [ -n "$nfsroot" ] && [ -n "$ip" ]; then
  server=\${nfsroot%%:*}
  load_modules /${NFS_MODULE_LIST_PATH}
  if mount -t nfs -o ro,nolock,vers=3 "$nfsroot" /mnt 2>/dev/null ||
     mount -t nfs4 -o ro,vers=4.1,addr="$server" "$nfsroot" /mnt; then
    say "NFS root mounted: $(grep ' /mnt ' /proc/mounts)"
    mark "${NFS_ROOT_MARKER} $nfsroot $(head -n 1 /mnt/${NFS_ROOT_MARKER_FILE} 2>/dev/null)"
  else
    say "cannot mount NFS root $nfsroot"
  fi
fi

if grep -q '${POWEROFF_PARAMETER}' /proc/cmdline; then poweroff -f; fi
say "starting a shell"
command -v cttyhack >/dev/null && exec setsid cttyhack sh
exec sh
`;
}

/** udhcpc calls this with the lease in its environment; it configures the link and saves the lease for /init. */
export function renderUdhcpcScript(): string {
  return `#!/bin/sh
case "$1" in
  deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ifconfig "$interface" "$ip" netmask "$subnet"
    if [ -n "$router" ]; then ip route replace default via "\${router%% *}" dev "$interface"; fi
    printf 'ip=%s\\nrootpath=%s\\nsiaddr=%s\\n' "$ip" "'$rootpath'" "$siaddr" >${LEASE_FILE}
    ;;
esac
exit 0
`;
}
