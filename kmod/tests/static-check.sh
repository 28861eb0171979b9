#!/bin/sh
# Static checks of the kernel code the kernel community runs:
#   static-check.sh KMOD_DIR KDIR LINUX_SOURCE_TARBALL
# 1. sparse over every file (make C=2), any sparse report fails;
# 2. checkpatch.pl --strict from the matching linux-source package over the
#    files we own.  hv_vss_compat.h is the one place allowed to test
#    LINUX_VERSION_CODE, so that single checkpatch warning is accepted there.
set -eu

if [ $# -ne 3 ]; then
	echo "usage: static-check.sh KMOD_DIR KDIR LINUX_SOURCE_TARBALL" >&2
	exit 2
fi
kmod=$(cd "$1" && pwd)
kdir=$2
tarball=$3

command -v sparse >/dev/null || {
	echo "static-check: sparse is not installed; run 'apt-get install sparse' (make deps)" >&2
	exit 1
}
[ -f "$tarball" ] || {
	echo "static-check: $tarball is missing; run 'apt-get install linux-source-6.1' (make deps)" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# 1. sparse: the CHECK lines are progress, everything else it prints is a report.
cp "$kmod"/Kbuild "$kmod"/Makefile "$kmod"/*.c "$kmod"/*.h "$tmp/"
make -s -C "$kdir" M="$tmp" C=2 HVVSS_WERROR=1 modules >"$tmp/sparse.log" 2>&1 || {
	cat "$tmp/sparse.log" >&2
	echo "static-check: the sparse build failed" >&2
	exit 1
}
if grep -E '(warning|error):' "$tmp/sparse.log" >&2; then
	echo "static-check: sparse reported the problems above" >&2
	status=1
fi

# 2. checkpatch, with its data files, from the kernel source tarball.
tar -xJf "$tarball" -C "$tmp" --wildcards --strip-components=1 \
	'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
	'*/scripts/const_structs.checkpatch'
for f in "$kmod"/*.c "$kmod"/*.h; do
	case ${f##*/} in
	hv_vss_proto.c | hv_vss_proto.h | hv_vss_core.h) continue ;;	# not ours
	esac
	perl "$tmp/scripts/checkpatch.pl" --strict --no-tree --terse --no-summary \
		-f "$f" >"$tmp/cp.log" 2>&1 || true
	if [ "${f##*/}" = hv_vss_compat.h ]; then
		sed -i '/LINUX_VERSION_CODE should be avoided/d' "$tmp/cp.log"
	fi
	if grep -E '(ERROR|WARNING|CHECK):' "$tmp/cp.log" >&2; then
		status=1
	fi
done
[ $status -eq 0 ] && echo "static-check: sparse and checkpatch --strict are clean"
exit $status
