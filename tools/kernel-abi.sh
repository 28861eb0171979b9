#!/bin/sh
# kernel-abi.sh [METAPACKAGE]
#
# Print the kernel ABI (e.g. 6.1.0-56, 6.12.117+deb12) that a Debian
# linux-headers metapackage points at. Default: linux-headers-amd64, the
# kernel we build modules for and boot in VM tests. An installed
# metapackage is read with dpkg; one that is not installed (the 6.12 series
# the compat build uses is only downloaded, never installed) is read from
# apt's package lists.
set -eu

pkg=${1:-linux-headers-amd64}
if dep=$(dpkg-query -W -f='${Depends}' "$pkg" 2>/dev/null) && [ -n "$dep" ]; then
	:
elif dep=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Depends: //p') &&
	[ -n "$dep" ]; then
	:
else
	echo "kernel-abi: $pkg is neither installed nor in apt's package lists; run 'make deps' (or apt-get update)" >&2
	exit 1
fi
# "linux-headers-6.1.0-56-amd64 (= 6.1.192-2)" -> "6.1.0-56"
abi=$(printf '%s\n' "$dep" | sed -n 's/.*linux-headers-\([0-9][^ ]*\)-amd64.*/\1/p')
[ -n "$abi" ] || { echo "kernel-abi: cannot parse the dependency '$dep' of $pkg" >&2; exit 1; }
printf '%s\n' "$abi"
