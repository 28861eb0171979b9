#!/bin/sh
# Proves the boot-order mechanism of hyperv-vss-dkms: with our modprobe.d
# file, `modprobe hv_utils` loads hv_vss_vmbus (and so hv_vss) first, so our
# driver binds the VSS channel before hv_utils can.  Runs kmod's own
# resolver over a minimal module tree: the Debian kernel's hv_vmbus and
# hv_utils (with their dependencies) plus our modules under updates/.
#
#   softdep-check.sh KMOD_BUILD_DIR MODPROBE_CONF
set -eu

[ $# -eq 2 ] || { echo "usage: softdep-check.sh KMOD_BUILD_DIR MODPROBE_CONF" >&2; exit 2; }
kmod=$1
conf=$2
here=$(cd "$(dirname "$0")" && pwd)

kcache=$("$here/../../tests/vm/fetch-kernel.sh") || {
	echo "softdep-check: cannot fetch the Debian kernel (see above)" >&2
	exit 1
}
release=$(cat "$kcache/release")
src="$kcache/lib/modules/$release"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dst="$tmp/lib/modules/$release"
mkdir -p "$dst/updates"

# hv_utils and hv_vmbus with everything they depend on, as the kernel has them.
for m in hv_vmbus hv_utils; do
	modprobe -d "$kcache" -S "$release" --show-depends "$m" |
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		rel=${path#"$src"/}
		mkdir -p "$dst/$(dirname "$rel")"
		cp "$path" "$dst/$rel"
	done
done
for m in hv_vss hv_vss_vmbus; do
	[ -f "$kmod/$m.ko" ] || { echo "softdep-check: $kmod/$m.ko missing; build the kmod target" >&2; exit 1; }
	cp "$kmod/$m.ko" "$dst/updates/"
done
cp "$src"/modules.order "$src"/modules.builtin "$dst/" 2>/dev/null || true
depmod -b "$tmp" "$release"

order=$(modprobe -d "$tmp" -S "$release" -C "$conf" --show-depends hv_utils |
	sed -n 's|^insmod .*/\([^/]*\)\.ko.*|\1|p' | tr '\n' ' ')
echo "load order for 'modprobe hv_utils': $order"

pos() { printf '%s\n' $order | grep -n -x "$1" | cut -d: -f1; }
for m in hv_vmbus hv_vss hv_vss_vmbus hv_utils; do
	[ -n "$(pos "$m")" ] || { echo "softdep-check: FAIL: $m is not loaded" >&2; exit 1; }
done
if [ "$(pos hv_vss_vmbus)" -lt "$(pos hv_utils)" ] &&
   [ "$(pos hv_vss)" -lt "$(pos hv_vss_vmbus)" ]; then
	echo "softdep-check: ok: hv_vss and hv_vss_vmbus load before hv_utils"
else
	echo "softdep-check: FAIL: hv_vss_vmbus must load before hv_utils" >&2
	exit 1
fi

# Without our file, nothing of ours is pulled in: the softdep is the cause.
plain=$(modprobe -d "$tmp" -S "$release" -C /dev/null --show-depends hv_utils | grep -c hv_vss || true)
[ "$plain" -eq 0 ] || { echo "softdep-check: FAIL: hv_vss loaded without the softdep" >&2; exit 1; }
echo "softdep-check: ok: without the modprobe.d file hv_utils loads alone"
