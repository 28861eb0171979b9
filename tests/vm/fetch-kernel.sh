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

here=$(cd "$(dirname "$0")" && pwd)
abi=${1:-}
if [ -z "$abi" ]; then
	abi=$("$here/../../tools/kernel-abi.sh")
fi
release="$abi-amd64"

cache_root=${HVVSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hyperv-vss}
dir="$cache_root/kernel-$abi"
stamp="$dir/.complete"

# Fast path without the lock: the stamp is written only after everything.
if [ -f "$stamp" ]; then
	printf '%s\n' "$dir"
	exit 0
fi

mkdir -p "$cache_root" || {
	echo "fetch-kernel: cannot create cache directory $cache_root; set HVVSS_CACHE to a writable directory" >&2
	exit 1
}

exec 9>"$cache_root/.kernel-$abi.lock"
if ! flock -w 900 9; then
	echo "fetch-kernel: timed out waiting for the lock $cache_root/.kernel-$abi.lock held by another fetch; remove it if no fetch is running" >&2
	exit 1
fi
# Someone else may have finished while we waited.
if [ -f "$stamp" ]; then
	printf '%s\n' "$dir"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hvvss-kernel.XXXXXX")
stage="$cache_root/.kernel-$abi.stage.$$"
cleanup() {
	rm -rf "$work" "$stage"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if [ -n "${HVVSS_KERNEL_DEB:-}" ]; then
	deb=$HVVSS_KERNEL_DEB
	[ -f "$deb" ] || {
		echo "fetch-kernel: HVVSS_KERNEL_DEB=$deb does not exist" >&2
		exit 1
	}
else
	# apt drops privileges to _apt for the download: give it a directory it
	# can write, or it falls back to an unsandboxed download with a warning.
	chmod 777 "$work"
	got=
	for pkg in "linux-image-$release-unsigned" "linux-image-$release"; do
		echo "fetch-kernel: downloading $pkg (first use only)" >&2
		if (cd "$work" && apt-get download -q "$pkg") >"$work/apt.log" 2>&1; then
			got=$pkg
			break
		fi
	done
	if [ -z "$got" ]; then
		cat "$work/apt.log" >&2
		echo "fetch-kernel: cannot download linux-image-$release(-unsigned) with apt-get download." >&2
		echo "fetch-kernel: this needs network access to a Debian mirror once (try 'apt-get update'), or set HVVSS_KERNEL_DEB to a downloaded .deb" >&2
		exit 1
	fi
	deb=$(ls "$work"/"$got"_*.deb)
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
# firmware real-mode path and the xz decompression, which under TCG take
# about 5 s of every boot.  The bzImage payload is one xz stream: find its
# magic and decompress just that stream.  Optional: run-vm.sh falls back to
# vmlinuz when vmlinux is missing.
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$stage/k/vmlinuz" 2>/dev/null | head -n 1 | cut -d: -f1) || off=
if [ -n "$off" ] && command -v xz >/dev/null &&
	tail -c +"$((off + 1))" "$stage/k/vmlinuz" | xz -dc --single-stream >"$stage/k/vmlinux" 2>/dev/null &&
	[ "$(head -c 4 "$stage/k/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then
	:
else
	rm -f "$stage/k/vmlinux"
	echo "fetch-kernel: note: could not extract an ELF vmlinux from vmlinuz (needs xz-utils); VM boots will be about 5 s slower" >&2
fi
# The .deb ships no modules.dep (the postinst makes it); modprobe needs it.
depmod -b "$stage/k" "$release" || {
	echo "fetch-kernel: depmod failed on $stage/k for $release" >&2
	exit 1
}
rm -rf "$dir"
mv "$stage/k" "$dir"
date -u +%Y-%m-%dT%H:%M:%SZ >"$stamp"
echo "fetch-kernel: kernel $release cached in $dir" >&2
printf '%s\n' "$dir"
