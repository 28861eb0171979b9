#!/bin/sh
# make-packages.sh [--no-lint] OUT_DIR
#
# Build the .deb (dpkg-buildpackage, debian/) and .rpm (rpmbuild, rpm/) packages
# of the source tree this script lives in into OUT_DIR, and run lintian and
# rpmlint on them (their output goes to OUT_DIR/lintian.txt and rpmlint.txt;
# any error or warning fails; --no-lint skips them: the install tests run
# them as tests of their own). Used by `make packages` and the install tests.
#
# Both builds work on a copy of the source (the files git tracks plus new
# files it does not ignore, as they are in the work tree now), so the work
# tree stays clean. On Debian, rpmbuild runs with --nodeps: its
# BuildRequires name Fedora packages, which rpm's own (empty) database here
# cannot know.
set -eu

lint=1
[ "${1:-}" = --no-lint ] && { lint=0; shift; }
[ $# -eq 1 ] || { echo "usage: make-packages.sh [--no-lint] OUT_DIR" >&2; exit 2; }
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
version=$(sed -n '1s/^hyperv-vss (\([^)]*\)).*/\1/p' "$src/debian/changelog")
[ -n "$version" ] || { echo "make-packages: no version in debian/changelog" >&2; exit 1; }

work=$out/work
rm -rf "$work" "$out"/*.deb "$out"/*.rpm "$out"/*.changes "$out"/*.buildinfo
mkdir -p "$work/hyperv-vss-$version"
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
	xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	tar --null -T - -cf -) | tar -C "$work/hyperv-vss-$version" -xf -

echo "make-packages: dpkg-buildpackage (log: $out/deb-build.log)"
(cd "$work/hyperv-vss-$version" && dpkg-buildpackage -us -uc -b) >"$out/deb-build.log" 2>&1 || {
	tail -n 40 "$out/deb-build.log" >&2
	echo "make-packages: dpkg-buildpackage failed; see $out/deb-build.log" >&2
	exit 1
}
rm -rf "$work/hyperv-vss-$version/obj-"* "$work/hyperv-vss-$version/debian/.debhelper"
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out/"

echo "make-packages: rpmbuild (log: $out/rpm-build.log)"
mkdir -p "$work/rpmbuild/SOURCES"
tar -C "$work" --exclude="hyperv-vss-$version/debian/hyperv-vss" \
	--exclude="hyperv-vss-$version/debian/hyperv-vss-dkms" \
	--exclude="hyperv-vss-$version/debian/hyperv-vss-selinux" \
	--exclude="hyperv-vss-$version/debian/tmp" \
	-czf "$work/rpmbuild/SOURCES/hyperv-vss-$version.tar.gz" "hyperv-vss-$version"
rpmbuild -bb --nodeps --define "_topdir $work/rpmbuild" "$src/rpm/hyperv-vss.spec" \
	>"$out/rpm-build.log" 2>&1 || {
	tail -n 40 "$out/rpm-build.log" >&2
	echo "make-packages: rpmbuild failed; see $out/rpm-build.log" >&2
	exit 1
}
find "$work/rpmbuild/RPMS" -name '*.rpm' -exec mv {} "$out/" \;

rm -rf "$work"
ls -1 "$out"/*.deb "$out"/*.rpm
[ "$lint" -eq 1 ] || exit 0
exec "$src/tests/install/lint-packages.sh" "$out"
