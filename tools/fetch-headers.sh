#!/bin/sh
# fetch-headers.sh ABI
#
# Download the Debian kernel headers for ABI (e.g. 6.12.117+deb12) and
# unpack them into the per-user cache, without installing anything: the
# compat build (kmod-build-next) compiles our modules against a second
# kernel series, and installing those headers would pull in that kernel's
# image, which a developer's machine should not get from `make check`.
# Prints the kernel build directory (KDIR) on stdout.
#
# The three packages (linux-headers-ABI-amd64, linux-headers-ABI-common,
# the linux-kbuild package they depend on) are unpacked into one tree whose
# symlinks are relative; the one absolute path, the include in the flavour's
# Makefile, is pointed into the tree.
set -eu
prog=fetch-headers

[ $# -eq 1 ] || { echo "usage: fetch-headers.sh ABI" >&2; exit 2; }
abi=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-cache.sh"

kdir=/usr/src/linux-headers-$abi-amd64
cache_enter "headers-$abi" "$kdir"

flavour=linux-headers-$abi-amd64
dep=$(apt-cache show --no-all-versions "$flavour" 2>/dev/null | sed -n 's/^Depends: //p')
kbuild=$(printf '%s\n' "$dep" | grep -o 'linux-kbuild-[^ ,]*' | head -n 1) || kbuild=
[ -n "$kbuild" ] || {
	echo "$prog: $flavour is not in apt's package lists (or names no linux-kbuild package); run 'apt-get update'" >&2
	exit 1
}
cache_download "$flavour" "linux-headers-$abi-common" "$kbuild" || exit 1

mkdir -p "$CACHE_STAGE/t"
for deb in "$CACHE_WORK"/*.deb; do
	dpkg-deb -x "$deb" "$CACHE_STAGE/t" || {
		echo "$prog: cannot extract $deb (corrupt download? retry)" >&2
		exit 1
	}
done
mk=$CACHE_STAGE/t$kdir/Makefile
[ -f "$mk" ] || { echo "$prog: $flavour has no $mk" >&2; exit 1; }
# The stage moves to CACHE_DIR: point the include at its final place.
sed -i "s|^include /usr/src/|include $CACHE_DIR/usr/src/|" "$mk"
cache_commit "$CACHE_STAGE/t"
