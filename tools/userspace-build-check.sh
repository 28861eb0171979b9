#!/bin/sh
# Builds all userspace code in a fresh directory with another compiler or
# optimisation level, warnings as errors: -O2 and _FORTIFY_SOURCE (what
# distributions build with) and clang find warnings the sanitizer build
# of `make check` cannot.
#
#   userspace-build-check.sh SOURCE_DIR BUILD_DIR CC
set -eu
[ $# -eq 3 ] || { echo "usage: userspace-build-check.sh SOURCE_DIR BUILD_DIR CC" >&2; exit 2; }
src=$1 build=$2 cc=$3
command -v "$cc" >/dev/null || { echo "userspace-build-check: $cc not found; run 'make deps'" >&2; exit 1; }
rm -rf "$build"
CC=$cc cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_C_FLAGS="-O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong" \
	-DHVVSS_WERROR=ON -DHVVSS_SANITIZE=OFF -DHVVSS_BUILD_KMOD=OFF \
	-DHVVSS_VM_TESTS=OFF -DHVVSS_FUZZ=OFF -DHVVSS_SELINUX=OFF >"$build.log" 2>&1 &&
cmake --build "$build" -j2 >>"$build.log" 2>&1 || {
	grep -B2 -A8 -E 'error|warning' "$build.log" | head -80 >&2
	echo "userspace-build-check: the $cc -O2 build failed (full log: $build.log)" >&2
	exit 1
}
echo "userspace-build-check: $cc -O2 -Werror build is clean"
rm -rf "$build" "$build.log"
