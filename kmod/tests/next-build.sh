#!/bin/sh
# next-build.sh SRC_DIR OUT_DIR ABI
#
# Build our modules with -Werror against a second Debian kernel series
# (the headers for ABI are downloaded into the cache by fetch-headers.sh,
# not installed), into OUT_DIR, which starts empty, and check that each
# module is built for that kernel. The VM tests of that series boot these.
set -eu

[ $# -eq 3 ] || { echo "usage: next-build.sh SRC_DIR OUT_DIR ABI" >&2; exit 2; }
src=$1
out=$2
abi=$3
top=$(cd "$(dirname "$0")/../.." && pwd)

if [ -z "$abi" ]; then
	echo "next-build: no second kernel series: apt does not know its headers package; run 'make deps' (or apt-get update) and reconfigure" >&2
	exit 1
fi
kdir=$("$top/tools/fetch-headers.sh" "$abi") || {
	echo "next-build: cannot get the $abi headers (message above)" >&2
	exit 1
}
rm -rf "$out"
HVVSS_WERROR=1 "$top/tools/kmod-build.sh" "$src" "$out" "$kdir"
for ko in hv_vss hv_vss_hostsim hv_vss_vmbus; do
	vermagic=$(modinfo -F vermagic "$out/$ko.ko")
	if [ "${vermagic%% *}" != "$abi-amd64" ]; then
		echo "next-build: $out/$ko.ko has vermagic '$vermagic', expected $abi-amd64" >&2
		exit 1
	fi
	echo "next-build: $ko.ko built for $abi-amd64"
done
