#!/bin/sh
# Fetch the Debian kernel the VM tests boot (the one whose headers we build
# our modules against) into a per-user cache, once.
#
# Usage: fetch-kernel.sh [ABI]      (default: tools/kernel-abi.sh)
# Prints the kernel cache directory on stdout.  That directory holds
#   vmlinuz                   the kernel image (bzImage, as shipped)
#   vmlinux                   the same kernel uncompressed (ELF with a PVH
#                             entry point), if it could be extracted
#   release                   the kernel release string (e.g. 6.1.0-56-amd64)
#   lib/modules/<release>/    all modules, with depmod's index files
#   boot/                     config and System.map (for decoding traces)
#
# Environment:
#   HVVSS_CACHE        cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/hyperv-vss)
#   HVVSS_KERNEL_DEB   use this linux-image .deb instead of apt-get download
#
# Network is needed only on first use.  Two callers at once are safe: the
# work happens under flock(1), and a finished cache is marked by a stamp
# file written last, so a half-extracted cache is never used.
set -eu
prog=fetch-kernel

here=$(cd "$(dirname "$0")" && pwd)
abi=${1:-}
if [ -z "$abi" ]; then
	abi=$("$here/../../tools/kernel-abi.sh")
fi
release="$abi-amd64"

. "$here/../../tools/lib-cache.sh"
cache_enter "kernel-$abi"
stage=$CACHE_STAGE

if [ -n "${HVVSS_KERNEL_DEB:-}" ]; then
	deb=$HVVSS_KERNEL_DEB
	[ -f "$deb" ] || {
		echo "fetch-kernel: HVVSS_KERNEL_DEB=$deb does not exist" >&2
		exit 1
	}
else
	# The -unsigned package where there is one (6.12): the same kernel.
	if ! cache_download "linux-image-$release-unsigned" 2>/dev/null; then
		cache_download "linux-image-$release" || {
			echo "fetch-kernel: or set HVVSS_KERNEL_DEB to a downloaded linux-image .deb" >&2
			exit 1
		}
	fi
	deb=$(ls "$CACHE_WORK"/linux-image-*.deb)
fi

rm -rf "$stage"
mkdir -p "$stage/x"
dpkg-deb -x "$deb" "$stage/x" || {
	echo "fetch-kernel: cannot extract $deb (corrupt download? delete it and retry)" >&2
	exit 1
}
[ -f "$stage/x/boot/vmlinuz-$release" ] || {
	echo "fetch-kernel: $deb has no boot/vmlinuz-$release; is it a linux-image package for ABI $abi?" >&2
	exit 1
}
mkdir -p "$stage/k/lib" "$stage/k/boot"
mv "$stage/x/boot/vmlinuz-$release" "$stage/k/vmlinuz"
mv "$stage/x/boot/"* "$stage/k/boot/" 2>/dev/null || true
mv "$stage/x/lib/modules" "$stage/k/lib/modules"
printf '%s\n' "$release" >"$stage/k/release"
# QEMU boots an ELF vmlinux through its PVH entry point, skipping the
# firmware real-mode path and the decompression, which under TCG take about
# 5 s of every boot.  The bzImage payload is one compressed stream (xz for
# 6.1, zstd for 6.12): find its magic and decompress just that stream (zstd
# then complains about the bytes after it, hence its status is not used;
# the ELF magic of the result is what counts).  Optional: run-vm.sh falls
# back to vmlinuz when vmlinux is missing.
unpack_payload() { # MAGIC DECOMPRESSOR...
	local magic=$1 off
	shift
	command -v "$1" >/dev/null || return 1
	off=$(LC_ALL=C grep -obUaP "$magic" "$stage/k/vmlinuz" 2>/dev/null | head -n 1 | cut -d: -f1) || return 1
	[ -n "$off" ] || return 1
	tail -c +"$((off + 1))" "$stage/k/vmlinuz" | "$@" >"$stage/k/vmlinux" 2>/dev/null || true
	[ "$(head -c 4 "$stage/k/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]
}
if ! unpack_payload '\xfd7zXZ\x00' xz -dc --single-stream &&
	! unpack_payload '\x28\xb5\x2f\xfd' zstd -dc; then
	rm -f "$stage/k/vmlinux"
	echo "fetch-kernel: note: could not extract an ELF vmlinux from vmlinuz (needs xz-utils or zstd); VM boots will be about 5 s slower" >&2
fi
# The .deb ships no modules.dep (the postinst makes it); modprobe needs it.
depmod -b "$stage/k" "$release" || {
	echo "fetch-kernel: depmod failed on $stage/k for $release" >&2
	exit 1
}
echo "fetch-kernel: kernel $release cached in $CACHE_DIR" >&2
cache_commit "$stage/k"
