#!/bin/sh
# Builds all userspace code in a fresh directory, optimised and warnings as
# errors: a Release build (-O3 -DNDEBUG) with _FORTIFY_SOURCE, close to what
# distributions build, and clang, find warnings that the sanitizer build of
# `make check` cannot.
#
#   userspace-build-check.sh SOURCE_DIR BUILD_DIR CC
set -eu
[ $# -eq 3 ] || { echo "usage: userspace-build-check.sh SOURCE_DIR BUILD_DIR CC" >&2; exit 2; }
src=$1 build=$2 cc=$3
command -v "$cc" >/dev/null || { echo "userspace-build-check: $cc not found; run 'make deps'" >&2; exit 1; }
rm -rf "$build"
CC=$cc cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_C_FLAGS="-D_FORTIFY_SOURCE=2 -fstack-protector-strong" \
	-DHVVSS_WERROR=ON -DHVVSS_SANITIZE=OFF -DHVVSS_BUILD_KMOD=OFF \
	-DHVVSS_VM_TESTS=OFF -DHVVSS_FUZZ=OFF -DHVVSS_SELINUX=OFF >"$build.log" 2>&1 &&
cmake --build "$build" -j2 >>"$build.log" 2>&1 || {
	grep -B2 -A8 -E 'error|warning' "$build.log" | head -80 >&2
	echo "userspace-build-check: the $cc Release build failed (full log: $build.log)" >&2
	exit 1
}
echo "userspace-build-check: $cc Release -Werror build is clean"
rm -rf "$build" "$build.log"
