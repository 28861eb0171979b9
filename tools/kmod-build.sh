#!/bin/sh
# Build the hyperv-vss kernel modules out of the source tree:
#   kmod-build.sh SRC_DIR BUILD_DIR KDIR
# copies the Kbuild sources of SRC_DIR (kmod/) into BUILD_DIR, where Kbuild
# writes its objects, and builds hv_vss.ko, hv_vss_hostsim.ko and
# hv_vss_vmbus.ko there against the kernel build directory KDIR.
# HVVSS_WERROR (default 1) turns warnings into errors; set it to 0 to build
# with a compiler newer than the code.
set -eu

if [ $# -ne 3 ]; then
	echo "usage: kmod-build.sh SRC_DIR BUILD_DIR KDIR" >&2
	exit 2
fi
src=$1
build=$2
kdir=$3

if [ ! -f "$kdir/Makefile" ]; then
	echo "kmod-build: $kdir is not a kernel build directory; install the matching linux-headers package (make deps)" >&2
	exit 1
fi
if [ ! -f "$src/Kbuild" ]; then
	echo "kmod-build: $src has no Kbuild file; pass the kmod/ source directory" >&2
	exit 1
fi

mkdir -p "$build"
# -p keeps timestamps, so Kbuild rebuilds only what changed.
for f in "$src"/Kbuild "$src"/Makefile "$src"/*.c "$src"/*.h; do
	if ! cmp -s "$f" "$build/${f##*/}"; then
		cp -p "$f" "$build/"
	fi
done

exec make -C "$kdir" M="$(cd "$build" && pwd)" HVVSS_WERROR="${HVVSS_WERROR:-1}" modules
