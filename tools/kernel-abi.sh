#!/bin/sh
# Print the kernel ABI (e.g. 6.1.0-56) that the installed linux-headers-amd64
# metapackage points at: the kernel we build modules for and boot in VM tests.
set -eu
dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null) || {
	echo "kernel-abi: linux-headers-amd64 is not installed; run 'make deps'" >&2
	exit 1
}
# "linux-headers-6.1.0-56-amd64 (= 6.1.192-2)" -> "6.1.0-56"
abi=$(printf '%s\n' "$dep" | sed -n 's/.*linux-headers-\([0-9][^ ]*\)-amd64.*/\1/p')
[ -n "$abi" ] || { echo "kernel-abi: cannot parse '$dep'" >&2; exit 1; }
printf '%s\n' "$abi"
