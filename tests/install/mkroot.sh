#!/bin/sh
# mkroot.sh NAME [EXTRA_PACKAGES...]
#
# Build (once) and print the path of a cached Debian 12 root filesystem:
#   debootstrap --variant=minbase bookworm, plus systemd-sysv and udev, plus
#   EXTRA_PACKAGES, with the host's apt sources (so bookworm-security kernels
#   resolve).  The root lives in ${HVVSS_CACHE:-$HOME/.cache/hyperv-vss}/roots/NAME
#   and is rebuilt only when the package list changes.  Callers must treat
#   it as read-only: copy it (cp -a) before changing anything inside.
#
# The initrd (if a kernel is among the packages) is made for QEMU: virtio
# disk and ext4 only.  Inside the root, /usr/sbin/policy-rc.d forbids starting services (so
# package scripts run in a chroot start nothing); delete it in a copy that
# boots.  Only the path goes to stdout; progress goes to stderr.
set -eu

usage() {
	echo "usage: mkroot.sh NAME [EXTRA_PACKAGES...]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
name=$1
shift
case "$name" in
'' | */* | .*) echo "mkroot: bad root name '$name'" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "mkroot: must run as root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || {
	echo "mkroot: debootstrap not found: apt-get install debootstrap (make deps)" >&2
	exit 1
}

cache=${HVVSS_CACHE:-$HOME/.cache/hyperv-vss}/roots
root=$cache/$name
packages=$(printf '%s\n' systemd-sysv udev "$@" | sort -u | tr '\n' ' ')
mkdir -p "$cache"

# One builder per root at a time; others wait and then reuse its result.
exec 9>"$cache/$name.lock"
flock 9

if [ -f "$root/.hvvss-root" ] && [ "$(cat "$root/.hvvss-root")" = "$packages" ]; then
	printf '%s\n' "$root"
	exit 0
fi

# The first deb.debian.org-style mirror of the host: deb822 or one-line format.
mirror=
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	mirror=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' "$f")
	[ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
	mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}

mounted=
cleanup() {
	for m in $mounted; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tmp=$cache/$name.new
rm -rf "$tmp" "$cache/$name.old"
echo "mkroot: debootstrap bookworm from $mirror into $tmp" >&2
debootstrap --variant=minbase bookworm "$tmp" "$mirror" >&2

# The host's sources (security and updates included) and no service starts.
rm -f "$tmp/etc/apt/sources.list"
cp /etc/apt/sources.list.d/*.sources "$tmp/etc/apt/sources.list.d/" 2>/dev/null || true
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$tmp/etc/apt/sources.list"
# An initrd for QEMU's virtio disk only (MODULES=list), much smaller and
# quicker to boot under TCG than the default MODULES=most; written before
# any kernel package is installed so its first initrd is already small.
mkdir -p "$tmp/etc/initramfs-tools/conf.d"
echo MODULES=list >"$tmp/etc/initramfs-tools/conf.d/hvvss-vm.conf"
printf '%s\n' virtio_pci virtio_blk ext4 crc32c_generic >>"$tmp/etc/initramfs-tools/modules"
printf '#!/bin/sh\n# mkroot.sh: no service starts inside the chroot\nexit 101\n' \
	>"$tmp/usr/sbin/policy-rc.d"
chmod 0755 "$tmp/usr/sbin/policy-rc.d"
echo hvvss-test >"$tmp/etc/hostname"

for m in proc sys dev; do
	mount --rbind "/$m" "$tmp/$m"
	mount --make-rslave "$tmp/$m"
	mounted="$tmp/$m $mounted"
done
echo "mkroot: installing $packages" >&2
chroot "$tmp" sh -ec "
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold $packages
	apt-get clean
" >&2
cleanup
mounted=

printf '%s\n' "$packages" >"$tmp/.hvvss-root"
[ -d "$root" ] && mv "$root" "$cache/$name.old"
mv "$tmp" "$root"
rm -rf "$cache/$name.old"
printf '%s\n' "$root"
